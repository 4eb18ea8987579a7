"""The Streamlit pages ``app.py`` shows, one file each: a page reads session state, calls a
package function and renders."""
