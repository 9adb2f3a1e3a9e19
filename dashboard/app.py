"""Safeguard dashboard entry: sign-in, then the pages the person's role may use."""

import streamlit as st

from dashboard.session import sign_out, signed_in
from safeguard.auth import Permission

st.set_page_config(page_title="Safeguard", page_icon=":shield:", layout="wide")
user = signed_in()
if user is None:
    st.navigation([st.Page("pages/signin.py", title="Sign in", icon=":material/login:")]).run()
    st.stop()

PAGES = [  # (page, the permission that shows it)
    (st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:",
             url_path="alerts"), Permission.view_alerts),
    (st.Page("pages/alert.py", title="Alert", icon=":material/report:", url_path="alert"),
     Permission.view_alerts),
    (st.Page("pages/chronology.py", title="Pupil chronology", icon=":material/timeline:",
             url_path="chronology"), Permission.view_pupil_data),
    (st.Page("pages/incident.py", title="Record an incident", icon=":material/edit_note:",
             url_path="incident"), Permission.record_incident),
    (st.Page("pages/termly.py", title="Termly review", icon=":material/insights:",
             url_path="termly"), Permission.view_termly),
    (st.Page("pages/review.py", title="Filtering review", icon=":material/fact_check:",
             url_path="review"), Permission.view_termly),
    (st.Page("pages/rules.py", title="Rules", icon=":material/tune:", url_path="rules"),
     Permission.edit_rules),
    (st.Page("pages/pipeline.py", title="Pipeline health", icon=":material/monitor_heart:",
             url_path="pipeline"), Permission.view_pipeline),
    (st.Page("pages/audit.py", title="Audit log", icon=":material/policy:", url_path="audit"),
     Permission.view_audit),
]
allowed = [page for page, need in PAGES if user.can(need)]
with st.sidebar:
    st.caption(f"Signed in as {user.display_name} ({user.role.label})")
    if st.button("Sign out"):
        sign_out(user)
        st.rerun()
st.navigation(allowed).run()
