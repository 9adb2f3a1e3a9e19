"""Safeguard dashboard entry: page set-up and navigation only."""

import streamlit as st

st.set_page_config(page_title="Safeguard", page_icon=":shield:", layout="wide")
pages = [
    st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:", default=True),
    st.Page("pages/pipeline.py", title="Pipeline health", icon=":material/monitor_heart:"),
]
st.navigation(pages).run()
