"""The human side: studies and the outputs imported into them, blind assignment of pairs,
ratings (from the app or imported), accounts, progress and exports."""
