"""IT: every rule's thresholds, windows and on/off — previewed against past events
(backtest) before saving, saved with a reason, and every change kept in the history."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from dashboard.session import page_access
from dashboard.widgets import denied_guard
from safeguard.errors import SafeguardError
from warehouse.errors import WarehouseError

data = page_access()
st.title("Rules")
with denied_guard():
    rules = data.rules()
    if not rules:
        st.info("No policy profile loaded: start the dashboard with --school.")
        st.stop()
    st.dataframe(
        [{"rule": r.id, "kind": r.kind, "changed": r.changed, **{k: str(v) for k, v in
                                                                 r.settings.items()}}
         for r in rules], hide_index=True, width="stretch", key="rules")
    by_id = {r.id: r for r in rules}
    rule_id = st.selectbox("Rule to tune", list(by_id))
    rule = by_id[rule_id]
    st.caption(f"{rule.title} — clauses {', '.join(rule.clause_ids)}")
    with st.form("edit-rule"):
        enabled = st.toggle("Enabled", value=bool(rule.settings.get("enabled", True)))
        values = {k: st.text_input(k, value=str(v)) for k, v in rule.settings.items()
                  if k != "enabled"}
        days = st.slider("Preview over the last N days", 1, 120, 28)
        reason = st.text_input("Reason for the change")
        c1, c2 = st.columns(2)
        preview = c1.form_submit_button("Preview (backtest)")
        save = c2.form_submit_button("Save")
    wanted = {"enabled": str(enabled).lower(), **values}
    changed = {k: v for k, v in wanted.items() if v != str(rule.settings.get(k)).lower()
               and v != str(rule.settings.get(k))}
    if preview:
        end = datetime.now(UTC)
        try:
            report = data.backtest_preview(rule_id, changed, end - timedelta(days=days), end)
        except (SafeguardError, WarehouseError) as exc:
            st.error(str(exc))
        else:
            c1, c2, c3 = st.columns(3)
            c1.metric("Raised with current settings", report["current"])
            c2.metric("Would raise with the edit", report["would"])
            c3.metric("Estimated precision", report["precision"])
            for warning in report["warnings"]:
                st.warning(warning)
            st.text(report["text"])
    if save:
        if not changed:
            st.info("Nothing changed.")
        elif not reason.strip():
            st.error("Give a reason for the change: it is kept in the history.")
        else:
            try:
                where = data.edit_rule(rule_id, changed, reason)
            except SafeguardError as exc:
                st.error(str(exc))
            else:
                st.success(f"Saved ({where}); workers apply it to the next events.")
    st.subheader("Change history")
    st.dataframe(data.rule_history(), hide_index=True, width="stretch", key="history")
