"""Sign in: the only page anyone sees before the dashboard knows who they are."""

import streamlit as st

from dashboard.session import sign_in

st.title("Safeguard")
st.caption("Safeguarding alerts, termly review and filter tuning. Sign in to continue.")
with st.form("signin"):
    username = st.text_input("Username")
    password = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Sign in")
if submitted:
    result = sign_in(username.strip().lower(), password)
    if result.ok:
        st.rerun()
    st.error(result.reason)
