//! What the desk's phone page shows (`centredesk_protocol::phone`), read with the same
//! code as the desk's own screens (the timetable's session list, the roll call's roster,
//! the search box) and cut to what a coach needs on the mat: a guardian's phone masked
//! to its last four digits, "birthday today" instead of a birthday.

use crate::attendance::Roster;
use crate::auth::Session;
use crate::db::Core;
use crate::error::Result;
use crate::timetable::{ClassSession, SessionFilter};
use centredesk_protocol::phone::{mask_phone, PhoneChild, PhoneChoice, PhoneClass, PhoneGoods, PhoneHandOver, PhoneMember, PhoneRoster, PhoneShop, PhoneToday, PhoneTrial};
use rusqlite::Connection;

fn class_of(s: &ClassSession, r: &Roster) -> PhoneClass {
    PhoneClass {
        session_id: s.id.clone(),
        group_name: s.group_name.clone(),
        date: s.date.clone(),
        start_time: s.start_time.clone(),
        end_time: s.end_time.clone(),
        room_name: s.room_name.clone(),
        coach_name: s.coach_name.clone(),
        cancelled: s.status == "cancelled",
        expected: r.entries.iter().filter(|e| e.expected).count() as i64,
        on_leave: r.entries.iter().filter(|e| e.on_leave).count() as i64,
        trials: r.entries.iter().filter(|e| e.trial).count() as i64,
        marked: r.entries.iter().filter(|e| e.mark.is_some() || e.trial_attended).count() as i64,
    }
}

fn birthday_today(c: &Connection, member_id: &str, date: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM members WHERE id = ?1 AND birthday IS NOT NULL AND substr(birthday, 6, 5) = substr(?2, 6, 5))",
        rusqlite::params![member_id, date],
        |r| r.get(0),
    )?)
}

impl Core {
    fn read_at(&self) -> String {
        self.now().with_timezone(&self.timezone()).format("%H:%M").to_string()
    }

    /// Today's classes: a coach's own, everyone's for the desk's roles.
    pub fn phone_today(&self, session: &Session) -> Result<PhoneToday> {
        let today = self.today().to_string();
        let filter = SessionFilter { from_date: today.clone(), to_date: today.clone(), room_id: None, coach_id: None, group_id: None, member_id: None };
        let sessions = self.session_list(session, filter)?;
        let mut classes = vec![];
        for s in &sessions {
            let roster = self.roster(session, &s.id)?;
            classes.push(class_of(s, &roster));
        }
        Ok(PhoneToday { date: today, read_at: self.read_at(), staff_name: session.display_name.clone(), classes })
    }

    /// One class's roll call for the phone (the roster's permission: a coach their own).
    pub fn phone_roster(&self, session: &Session, session_id: &str) -> Result<PhoneRoster> {
        let roster = self.roster(session, session_id)?;
        let date = roster.session.date.clone();
        let children = self.read(|c| {
            roster
                .entries
                .iter()
                .map(|e| {
                    Ok(PhoneChild {
                        member_id: e.member_id.clone(),
                        trial_id: e.trial_id.clone(),
                        name: e.name.clone(),
                        member_no: e.member_no.clone(),
                        guardian_phone: e.guardian_phone.as_deref().map(mask_phone),
                        expected: e.expected,
                        on_leave: e.on_leave,
                        trial: e.trial,
                        trial_attended: e.trial_attended,
                        mark: e.mark.clone(),
                        comment: e.comment.clone(),
                        version: e.version.clone(),
                        lessons_left: e.lessons_remaining,
                        covered: e.covered,
                        birthday_today: match &e.member_id {
                            Some(id) => birthday_today(c, id, &date)?,
                            None => false,
                        },
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(PhoneRoster { class: class_of(&roster.session, &roster), capacity: roster.capacity, read_at: self.read_at(), children })
    }

    /// Members to add to a roll call as make-ups: the desk's search (name, pinyin,
    /// initials, phone tail), members only, phones masked.
    pub fn phone_find_member(&self, session: &Session, query: &str) -> Result<Vec<PhoneMember>> {
        let hits = self.search(session, query, 20)?;
        self.read(|c| {
            hits.into_iter()
                .filter(|h| h.entity == "member")
                .take(10)
                .map(|h| {
                    Ok(PhoneMember {
                        points: crate::points::balance(c, &h.id)?,
                        member_id: h.id,
                        name: h.name,
                        member_no: h.member_no,
                        guardian_phone: h.phone.as_deref().map(mask_phone),
                    })
                })
                .collect()
        })
    }

    /// What a coach can sell at the mat: goods on sale with stock, and the payment methods.
    pub fn phone_shop(&self, session: &Session) -> Result<PhoneShop> {
        session.require(crate::auth::Action::SellGoods)?;
        let goods = self
            .goods_list(session, false)?
            .into_iter()
            .filter(|g| g.stock > 0)
            .map(|g| PhoneGoods { goods_id: g.id, name: g.name, category: g.category, price: g.price.to_string(), points_price: g.points_price, stock: g.stock })
            .collect();
        let methods = crate::vocab::PaymentMethod::ALL
            .iter()
            .map(|m| PhoneChoice {
                code: m.as_str().to_string(),
                label_zh: crate::vocab::PaymentMethod::label_of(m.as_str(), crate::Lang::ZhCn),
                label_en: crate::vocab::PaymentMethod::label_of(m.as_str(), crate::Lang::En),
            })
            .collect();
        Ok(PhoneShop { goods, methods })
    }

    /// Trials waiting for a decision: a coach's own classes' (every class's for the desk).
    pub fn phone_trials(&self, session: &Session) -> Result<Vec<PhoneTrial>> {
        Ok(self
            .trials_pending(session)?
            .into_iter()
            .map(|t| PhoneTrial {
                trial_id: t.id,
                name: t.name,
                newcomer: t.lead_id.is_some(),
                from_portal: t.via == "portal",
                session_id: t.session.id,
                group_name: t.session.group_name,
                date: t.session.date,
                start_time: t.session.start_time,
                end_time: t.session.end_time,
                booked: t.booked,
                capacity: t.capacity,
                note: t.note,
            })
            .collect())
    }

    /// Goods not yet handed over to children of the coach's own class groups (every
    /// child's for the desk), oldest first.
    pub fn phone_hand_overs(&self, session: &Session) -> Result<Vec<PhoneHandOver>> {
        let today = self.today().to_string();
        let mut sales = self.goods_sales(session, &today, &today, true)?;
        sales.retain(|s| s.member_id.is_some() && s.quantity > s.returned);
        if session.role == crate::Role::Coach {
            let mine: std::collections::HashSet<String> = self.read(|c| {
                let mut stmt = c.prepare(
                    "SELECT DISTINCT gm.member_id FROM group_members gm JOIN class_groups g ON g.id = gm.group_id
                     WHERE g.coach_id = ?1 AND (gm.end_date IS NULL OR gm.end_date >= ?2)",
                )?;
                let ids = stmt.query_map(rusqlite::params![session.staff_id, today], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
                Ok(ids)
            })?;
            sales.retain(|s| s.member_id.as_ref().is_some_and(|m| mine.contains(m)));
        }
        sales.reverse();
        Ok(sales
            .into_iter()
            .map(|s| PhoneHandOver {
                sale_id: s.id,
                sale_no: s.sale_no,
                member_name: s.member_name.unwrap_or_default(),
                goods_name: s.goods_name,
                quantity: s.quantity - s.returned,
                method: s.method,
                amount: s.amount.to_string(),
                points: s.points,
                business_date: s.business_date,
            })
            .collect())
    }
}
