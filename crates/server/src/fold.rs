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
    ("return_visits", "return_visit", "member_id"),
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

impl Effect {
    /// The row it touches, `(entity, id)`.
    pub fn key(&self) -> (&str, &str) {
        match self {
            Effect::Upsert { entity, id, .. } | Effect::Delete { entity, id } | Effect::Patch { entity, id, .. } => (entity, id),
        }
    }
}

/// What a batch's effects, applied in order, leave of each row they touch, so a store can
/// write them with one statement per kind instead of one per effect (PostgreSQL: a round
/// trip each). Every row appears in exactly one list:
///
/// - `upserts`: the batch sets the row whole (its last upsert, with the patches after it
///   applied), `(entity, id, data, seq of its last effect)`;
/// - `deletes`: the batch's last word on the row is a delete (patches after a delete find
///   no row and do nothing, as in [`Fold::apply`]);
/// - `patches`: the batch only patches the row: top-level fields to set on the stored row
///   if there is one, `(entity, id, {field: value…}, seq of its last patch)`.
///
/// Each effect depends on its own row only, so this equals applying them one by one.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct NetEffects {
    pub upserts: Vec<(String, String, Value, i64)>,
    pub deletes: Vec<(String, String)>,
    pub patches: Vec<(String, String, serde_json::Map<String, Value>, i64)>,
}

pub fn net_effects(effects: impl IntoIterator<Item = (i64, Effect)>) -> NetEffects {
    enum Net {
        Set(Value, i64),
        Gone,
        Patched(serde_json::Map<String, Value>, i64),
    }
    let mut order: Vec<(String, String)> = vec![];
    let mut net: std::collections::HashMap<(String, String), Net> = std::collections::HashMap::new();
    for (seq, e) in effects {
        let key = (e.key().0.to_string(), e.key().1.to_string());
        let before = net.remove(&key);
        if before.is_none() {
            order.push(key.clone());
        }
        let after = match (e, before) {
            (Effect::Upsert { data, .. }, _) => Net::Set(data, seq),
            (Effect::Delete { .. }, _) => Net::Gone,
            // Fold::apply patches objects only, and nothing once the row is gone.
            (Effect::Patch { field, value, .. }, Some(Net::Set(Value::Object(mut row), _))) => {
                row.insert(field, value);
                Net::Set(Value::Object(row), seq)
            }
            (Effect::Patch { .. }, Some(unchanged @ (Net::Set(..) | Net::Gone))) => unchanged,
            (Effect::Patch { field, value, .. }, Some(Net::Patched(mut fields, _))) => {
                fields.insert(field, value);
                Net::Patched(fields, seq)
            }
            (Effect::Patch { field, value, .. }, None) => Net::Patched(serde_json::Map::from_iter([(field, value)]), seq),
        };
        net.insert(key, after);
    }
    let mut out = NetEffects::default();
    for key in order {
        match net.remove(&key) {
            Some(Net::Set(data, seq)) => out.upserts.push((key.0, key.1, data, seq)),
            Some(Net::Gone) => out.deletes.push(key),
            Some(Net::Patched(fields, seq)) => out.patches.push((key.0, key.1, fields, seq)),
            None => {}
        }
    }
    out
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
            self.apply_effect(e);
        }
    }

    pub fn apply_effect(&mut self, e: Effect) {
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

    fn effect() -> impl proptest::strategy::Strategy<Value = Effect> {
        use proptest::prelude::*;
        let key = (prop_oneof![Just("member"), Just("payment")], prop_oneof![Just("a"), Just("b"), Just("c")]);
        prop_oneof![
            (key.clone(), 0..100i64).prop_map(|((e, id), n)| Effect::Upsert { entity: e.into(), id: id.into(), data: json!({"n": n, "f": "x"}) }),
            key.clone().prop_map(|(e, id)| Effect::Delete { entity: e.into(), id: id.into() }),
            (key, prop_oneof![Just("f"), Just("g")], 0..100i64)
                .prop_map(|((e, id), f, n)| Effect::Patch { entity: e.into(), id: id.into(), field: f.into(), value: json!(n) }),
        ]
    }

    proptest::proptest! {
        /// What the stores write in bulk is what the fold does one effect at a time.
        #[test]
        fn net_effects_equal_the_effects_applied_one_by_one(
            start in proptest::collection::vec((0..2usize, 0..3usize, 0..100i64), 0..6),
            batch in proptest::collection::vec(effect(), 0..40),
        ) {
            let mut one_by_one = Fold::default();
            for (e, id, n) in &start {
                one_by_one.0.insert((["member", "payment"][*e].into(), ["a", "b", "c"][*id].into()), json!({"n": n, "f": "y"}));
            }
            let mut bulk = one_by_one.clone();
            for e in batch.clone() {
                one_by_one.apply_effect(e);
            }
            let net = net_effects(batch.into_iter().enumerate().map(|(i, e)| (i as i64 + 1, e)));
            let mut keys: Vec<(String, String)> = net.upserts.iter().map(|u| (u.0.clone(), u.1.clone())).collect();
            keys.extend(net.deletes.iter().cloned());
            keys.extend(net.patches.iter().map(|p| (p.0.clone(), p.1.clone())));
            let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
            proptest::prop_assert_eq!(distinct.len(), keys.len(), "each row in one list once");
            for (entity, id, data, _) in net.upserts {
                bulk.0.insert((entity, id), data);
            }
            for key in net.deletes {
                bulk.0.remove(&key);
            }
            for (entity, id, fields, _) in net.patches {
                if let Some(Value::Object(row)) = bulk.0.get_mut(&(entity, id)) {
                    row.extend(fields);
                }
            }
            proptest::prop_assert_eq!(bulk, one_by_one);
        }
    }

    #[test]
    fn a_password_change_does_not_blank_the_staff_row() {
        let mut f = Fold::default();
        f.apply("staff", "s", "create", &json!({"id": "s", "username": "a"}));
        f.apply("staff", "s", "change_password", &json!({}));
        assert_eq!(f.0[&("staff".into(), "s".into())]["username"], "a");
    }
}
