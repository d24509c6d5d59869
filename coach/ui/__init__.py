"""The Streamlit page and its helpers: everything that imports streamlit."""
