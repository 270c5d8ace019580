"""The Streamlit app's pages (UI only; registered with st.navigation in app.py). ``_shared`` holds the
store connection, the cached loaders and small widgets every page uses."""
