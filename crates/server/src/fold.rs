//! How an op from a centre's change log becomes head office's copy of its rows.
//!
//! Head office keeps one generic table, `rows(centre, entity, entity_id, data, seq)`: the
//! centre logs each change with the row as it now stands, so folding the log in `seq`
//! order and upserting `data` under `(entity, entity_id)` rebuilds the centre's tables
//! without a schema per entity (a new entity in the app needs no server release).
//! The few ops whose payload is not "the row as it now stands" are listed here:
//!
//! - `attendance/clear`, `member_guardian/unlink` and `suggestion_vote/withdraw` remove the
//!   row (the centre deletes it);
//! - `member/merge` and `member/merged_into` carry `{survivor, duplicate, moved}`: both
//!   member rows are upserted, the moved rows get `member_id = survivor.id`, and the
//!   duplicate's attendance marks dropped by the merge are removed;
//! - a `payment` reversal also marks the entry it reverses `reversed = true`, and a
//!   `stock_move` also sets its goods' `stock` (the centre updates both rows but logs
//!   only the new entry);
//! - `staff/change_password` (an empty payload) and `database/restore` (a fact about the
//!   file, see ARCHITECTURE.md) change no row.
//!
//! The same function serves the server's apply and the tests' reference fold, so "the
//! server's rows equal the fold of the centre's log" is checked against one definition.

use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Upsert { entity: String, id: String, data: Value },
    Delete { entity: String, id: String },
    /// Sets one field of an existing row (no-op when the row is absent).
    Patch { entity: String, id: String, field: String, value: Value },
}

/// The moved lists of a merge, with the entity and the field that points at the member.
const MERGE_MOVES: &[(&str, &str, &str)] = &[
    ("contracts", "contract", "member_id"),
    ("attendance", "attendance", "member_id"),
    ("leave_requests", "leave_request", "member_id"),
    ("trial_requests", "trial_request", "member_id"),
    ("group_places", "group_member", "member_id"),
    ("guardian_links", "member_guardian", "member_id"),
    ("referred_members", "member", "referred_by"),
];

pub fn effects(entity: &str, entity_id: &str, op: &str, data: &Value) -> Vec<Effect> {
    let upsert = |entity: &str, id: &str, data: &Value| Effect::Upsert { entity: entity.into(), id: id.into(), data: data.clone() };
    match (entity, op) {
        ("attendance", "clear") | ("member_guardian", "unlink") | ("suggestion_vote", "withdraw") => vec![Effect::Delete { entity: entity.into(), id: entity_id.into() }],
        ("staff", "change_password") | ("database", _) => vec![],
        ("member", "merge" | "merged_into") => {
            let mut out = vec![];
            let survivor_id = data.pointer("/survivor/id").and_then(Value::as_str).unwrap_or_default().to_string();
            for side in ["survivor", "duplicate"] {
                if let Some(m) = data.get(side).filter(|m| m.is_object()) {
                    if let Some(id) = m.get("id").and_then(Value::as_str) {
                        out.push(upsert("member", id, m));
                    }
                }
            }
            let moved = data.get("moved").cloned().unwrap_or(Value::Null);
            for (list, entity, field) in MERGE_MOVES {
                for id in ids(&moved, list) {
                    out.push(Effect::Patch { entity: (*entity).into(), id, field: (*field).into(), value: Value::String(survivor_id.clone()) });
                }
            }
            for id in ids(&moved, "attendance_dropped") {
                out.push(Effect::Delete { entity: "attendance".into(), id });
            }
            out
        }
        ("payment", _) if data.get("reverses_id").and_then(Value::as_str).is_some() && op == "reversal" => {
            let original = data["reverses_id"].as_str().unwrap_or_default();
            vec![
                upsert(entity, entity_id, data),
                Effect::Patch { entity: "payment".into(), id: original.into(), field: "reversed".into(), value: Value::Bool(true) },
            ]
        }
        ("stock_move", _) if data.is_object() => {
            let mut out = vec![upsert(entity, entity_id, data)];
            if let (Some(goods), Some(stock)) = (data.get("goods_id").and_then(Value::as_str), data.get("stock")) {
                out.push(Effect::Patch { entity: "goods".into(), id: goods.into(), field: "stock".into(), value: stock.clone() });
            }
            out
        }
        _ if data.is_object() => vec![upsert(entity, entity_id, data)],
        _ => vec![],
    }
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default()
}

/// An in-memory fold, `(entity, entity_id) → data`: the reference the tests compare
/// the server's `rows` with.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fold(pub BTreeMap<(String, String), Value>);

impl Fold {
    pub fn apply(&mut self, entity: &str, entity_id: &str, op: &str, data: &Value) {
        for e in effects(entity, entity_id, op, data) {
            match e {
                Effect::Upsert { entity, id, data } => {
                    self.0.insert((entity, id), data);
                }
                Effect::Delete { entity, id } => {
                    self.0.remove(&(entity, id));
                }
                Effect::Patch { entity, id, field, value } => {
                    if let Some(Value::Object(row)) = self.0.get_mut(&(entity, id)) {
                        row.insert(field, value);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_merge_moves_rows_to_the_survivor_and_drops_double_marks() {
        let mut f = Fold::default();
        f.apply("contract", "k1", "enrol", &json!({"id": "k1", "member_id": "dup"}));
        f.apply("attendance", "a1", "mark", &json!({"id": "a1", "member_id": "dup"}));
        f.apply("attendance", "a2", "mark", &json!({"id": "a2", "member_id": "dup"}));
        let merge = json!({"survivor": {"id": "keep", "status": "active"}, "duplicate": {"id": "dup", "status": "left"},
            "moved": {"contracts": ["k1"], "attendance": ["a1"], "attendance_dropped": ["a2"]}});
        f.apply("member", "dup", "merged_into", &merge);
        f.apply("member", "keep", "merge", &merge);
        assert_eq!(f.0[&("contract".into(), "k1".into())]["member_id"], "keep");
        assert_eq!(f.0[&("attendance".into(), "a1".into())]["member_id"], "keep");
        assert!(!f.0.contains_key(&("attendance".into(), "a2".into())));
        assert_eq!(f.0[&("member".into(), "dup".into())]["status"], "left");
    }

    #[test]
    fn a_password_change_does_not_blank_the_staff_row() {
        let mut f = Fold::default();
        f.apply("staff", "s", "create", &json!({"id": "s", "username": "a"}));
        f.apply("staff", "s", "change_password", &json!({}));
        assert_eq!(f.0[&("staff".into(), "s".into())]["username"], "a");
    }
}
