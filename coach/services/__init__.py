"""The jobs the edges ask for: scoring a video, the live coach, classes, batch scoring.
No Streamlit and no argparse here."""
