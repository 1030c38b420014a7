"""The Melody Generator web app (`make app`): plain functions in core/media, the Streamlit page in main."""
