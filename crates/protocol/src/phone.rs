//! What the desk's phone page (`crates/lan`) shows a coach on the mat: wire types of
//! their own, built by `centredesk-core::phone` with the same read code as the desk's
//! screens, holding only what the mat needs (a guardian's phone masked to its last four
//! digits, no birthday beyond "today", no address).

use serde::{Deserialize, Serialize};

/// One class of the day as the phone lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneClass {
    pub session_id: String,
    pub group_name: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub room_name: String,
    pub coach_name: String,
    pub cancelled: bool,
    /// Children in the class group that day.
    pub expected: i64,
    pub on_leave: i64,
    pub trials: i64,
    /// Lines with a mark already.
    pub marked: i64,
}

/// The coach's day: their classes (every class for a clerk or a manager).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneToday {
    /// The business date, in the centre's time zone.
    pub date: String,
    /// When this was read, "HH:MM" in the centre's time zone: the page says how fresh it is.
    pub read_at: String,
    pub staff_name: String,
    pub classes: Vec<PhoneClass>,
}

/// One class's roll call as the phone shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneRoster {
    pub class: PhoneClass,
    pub capacity: i64,
    pub read_at: String,
    pub children: Vec<PhoneChild>,
}

/// One line of the roll call: a member of the class, a make-up, or a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneChild {
    /// None for a newcomer's trial (a lead, not yet a member).
    pub member_id: Option<String>,
    pub trial_id: Option<String>,
    pub name: String,
    pub member_no: Option<String>,
    /// The guardian's phone masked to its last four digits (`****8002`).
    pub guardian_phone: Option<String>,
    /// In the class group on this date (others are make-ups or trials).
    pub expected: bool,
    pub on_leave: bool,
    pub trial: bool,
    pub trial_attended: bool,
    pub mark: Option<String>,
    pub comment: String,
    /// What this line was read as: a change made on it carries it back (`MarkChange::seen`).
    pub version: String,
    /// Lessons left on the contracts valid that day (lesson packages).
    pub lessons_left: Option<i64>,
    /// Whether any contract covers the date (else "no lessons left — renew").
    pub covered: bool,
    pub birthday_today: bool,
}

/// A child found to add to a roll call as a make-up (name, pinyin, initials, phone tail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneMember {
    pub member_id: String,
    pub name: String,
    pub member_no: Option<String>,
    pub guardian_phone: Option<String>,
    /// The child's points, for a sale paid in points.
    pub points: i64,
}

/// What a coach can sell at the mat: the goods on sale and the ways to pay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneShop {
    pub goods: Vec<PhoneGoods>,
    /// Payment methods as the desk names them (points are offered for goods with a points
    /// price, not listed here).
    pub methods: Vec<PhoneChoice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneGoods {
    pub goods_id: String,
    pub name: String,
    pub category: String,
    /// The price in yuan ("68.00").
    pub price: String,
    pub points_price: Option<i64>,
    pub stock: i64,
}

/// One value of a desk vocabulary with its words in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneChoice {
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
}

/// A trial class waiting for the coach's decision, with the class's room for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneTrial {
    pub trial_id: String,
    pub name: String,
    /// A newcomer (a lead), not yet a member.
    pub newcomer: bool,
    /// Asked by the family through the parents' portal.
    #[serde(default)]
    pub from_portal: bool,
    pub session_id: String,
    pub group_name: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    /// Children expected and trials approved, against the class's capacity.
    pub booked: i64,
    pub capacity: i64,
    pub note: String,
}

/// Goods sold to a child, waiting to be handed over at the mat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneHandOver {
    pub sale_id: String,
    pub sale_no: String,
    pub member_name: String,
    pub goods_name: String,
    pub quantity: i64,
    /// How it was paid: `points`, `cash`, `wechat`, …
    pub method: String,
    /// The amount in yuan ("12.00"), or "0" when paid in points.
    pub amount: String,
    pub points: i64,
    pub business_date: String,
}

/// Masks a phone number to its last four digits: `13800138002` → `****8002`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("****{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn phones_keep_only_their_last_four_digits() {
        assert_eq!(super::mask_phone("13800138002"), "****8002");
        assert_eq!(super::mask_phone("138 0013 8002"), "****8002");
        assert_eq!(super::mask_phone("12"), "****12");
        assert_eq!(super::mask_phone(""), "****");
    }
}
