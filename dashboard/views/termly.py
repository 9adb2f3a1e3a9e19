"""Governors: the termly review — anonymised trends, small counts suppressed — and its export."""

import streamlit as st

from dashboard.session import page_access
from dashboard.widgets import denied_guard, term_chart
from pipelines.review_export import chart_frames

data = page_access()
st.title("Termly review")
with denied_guard():
    terms = data.terms()
    if not terms:
        st.info("No school calendar loaded: start the dashboard with --school.")
        st.stop()
    term = st.selectbox("Term", terms, index=terms.index(data.current_term()))
    review = data.governors_review(term)
    frames = chart_frames(review)
    st.caption(f"{review.header}. Compared with the previous terms: "
               f"{', '.join(review.terms)}.")
    st.info(review.review_status())
    c1, c2 = st.columns(2)
    with c1:
        term_chart("Alerts by category", frames["alerts_by_category"], "category")
        term_chart("Alerts by year group", frames["alerts_by_year_group"], "year_group")
        term_chart("Out-of-hours alerts", frames["out_of_hours"], "kind")
        term_chart("Filter block rate by category (share blocked)", frames["block_rates"],
                   "category", measure="share")
    with c2:
        term_chart("Alerts by severity", frames["alerts_by_severity"], "severity")
        term_chart("Time to acknowledge (minutes)", frames["time_to_acknowledge"], "measure")
        term_chart("How fast out-of-hours alerts were seen (minutes)",
                   frames["out_of_hours_seen"], "measure")
        term_chart("Coverage (share seen)", frames["coverage"], "group", measure="share")
    st.subheader("Filter gaps")
    st.dataframe(frames["filter_gaps"][["term", "measure", "shown"]], hide_index=True,
                 width="stretch", key="gaps")
    st.subheader("Export for the meeting")
    e1, e2 = st.columns(2)
    e1.download_button("Download HTML", lambda: data.export_review(review, "html"),
                       file_name=f"safeguard-review-{term}.html", mime="text/html",
                       on_click="ignore")
    e2.download_button("Download PDF", lambda: data.export_review(review, "pdf"),
                       file_name=f"safeguard-review-{term}.pdf", mime="application/pdf",
                       on_click="ignore")
