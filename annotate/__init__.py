"""Studies, storage and the human side of sidebyside."""
