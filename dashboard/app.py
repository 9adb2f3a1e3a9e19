"""Safeguard dashboard entry: sign-in, then the pages the person's role may use."""

import streamlit as st

from dashboard.session import sign_out, signed_in
from safeguard.auth import Permission

st.set_page_config(page_title="Safeguard", page_icon=":shield:", layout="wide")
user = signed_in()
if user is None:
    st.navigation([st.Page("views/signin.py", title="Sign in", icon=":material/login:")]).run()
    st.stop()

PAGES = [  # (page, the permission that shows it)
    (st.Page("views/alerts.py", title="Alerts", icon=":material/notifications:",
             url_path="alerts"), Permission.view_alerts),
    (st.Page("views/alert.py", title="Alert", icon=":material/report:", url_path="alert"),
     Permission.view_alerts),
    (st.Page("views/chronology.py", title="Pupil chronology", icon=":material/timeline:",
             url_path="chronology"), Permission.view_pupil_data),
    (st.Page("views/incident.py", title="Record an incident", icon=":material/edit_note:",
             url_path="incident"), Permission.record_incident),
    (st.Page("views/termly.py", title="Termly review", icon=":material/insights:",
             url_path="termly"), Permission.view_termly),
    (st.Page("views/review.py", title="Filtering review", icon=":material/fact_check:",
             url_path="review"), Permission.view_termly),
    (st.Page("views/rules.py", title="Rules", icon=":material/tune:", url_path="rules"),
     Permission.edit_rules),
    (st.Page("views/pipeline.py", title="Pipeline health", icon=":material/monitor_heart:",
             url_path="pipeline"), Permission.view_pipeline),
    (st.Page("views/audit.py", title="Audit log", icon=":material/policy:", url_path="audit"),
     Permission.view_audit),
]
allowed = [page for page, need in PAGES if user.can(need)]
with st.sidebar:
    st.caption(f"Signed in as {user.display_name} ({user.role.label})")
    if st.button("Sign out"):
        sign_out(user)
        st.rerun()
st.navigation(allowed).run()
