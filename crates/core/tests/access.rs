//! Who may get in at the desk: password length, the growing wait after wrong passwords,
//! a disabled staff member's open session, the idle-lock setting.

use crate::common::{self, PASSWORD};
use centredesk_core::auth::{login_delay_secs, NewStaff, FREE_LOGIN_FAILURES};
use centredesk_core::{Lang, Role};

#[test]
fn a_password_needs_eight_characters() {
    let c = common::centre();
    let short = NewStaff { username: "duan".into(), display_name: "短密码".into(), role: Role::Clerk, password: "1234567".into() };
    let e = c.core.staff_create(&c.admin, short).unwrap_err().to_dto(Lang::En);
    assert_eq!((e.code.as_str(), e.field), ("validation.password_too_short", Some(centredesk_core::error::Field::Password)), "{e:?}");
    assert!(e.message.contains('8'), "{}", e.message);
    let e = c.core.change_password(&c.clerk, PASSWORD, "7chars!").unwrap_err().to_dto(Lang::ZhCn);
    assert_eq!(e.code, "validation.password_too_short");
    assert!(c.core.staff_create(&c.admin, NewStaff { username: "chang".into(), display_name: "长密码".into(), role: Role::Clerk, password: "12345678".into() }).is_ok());
}

#[test]
fn wrong_passwords_in_a_row_cost_a_growing_wait_even_for_the_right_one() {
    let c = common::centre();
    for _ in 0..FREE_LOGIN_FAILURES - 1 {
        assert_eq!(c.core.login("clerk", "wrong-password").unwrap_err().code(), "auth.bad_credentials");
    }
    // A success before the fifth clears the count.
    c.core.login("clerk", PASSWORD).unwrap();
    for _ in 0..FREE_LOGIN_FAILURES {
        assert_eq!(c.core.login("clerk", "wrong-password").unwrap_err().code(), "auth.bad_credentials");
    }
    // The fifth failure costs a second: now even the right password waits.
    let e = c.core.login("clerk", PASSWORD).unwrap_err();
    assert_eq!(e.code(), "auth.too_many_attempts");
    assert!(e.to_dto(Lang::ZhCn).message.contains("1 秒"), "{}", e.to_dto(Lang::ZhCn).message);
    // Other accounts are not held up.
    c.core.login("coach", PASSWORD).unwrap();
    c.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(c.core.login("clerk", "wrong-again").unwrap_err().code(), "auth.bad_credentials");
    // The sixth failure doubles the wait; the username is matched without case or spaces.
    let e = c.core.login(" CLERK ", PASSWORD).unwrap_err();
    assert_eq!(e.code(), "auth.too_many_attempts");
    assert!(e.to_dto(Lang::En).message.contains("2 s"), "{}", e.to_dto(Lang::En).message);
    c.clock.advance(chrono::Duration::seconds(2));
    c.core.login("clerk", PASSWORD).unwrap();
    // And the success cleared it: five more free tries.
    for _ in 0..FREE_LOGIN_FAILURES - 1 {
        assert_eq!(c.core.login("clerk", "wrong-password").unwrap_err().code(), "auth.bad_credentials");
    }
    c.core.login("clerk", PASSWORD).unwrap();
}

#[test]
fn the_wait_doubles_up_to_a_cap() {
    let waits: Vec<i64> = (FREE_LOGIN_FAILURES - 1..FREE_LOGIN_FAILURES + 4).map(login_delay_secs).collect();
    assert_eq!(waits, vec![0, 1, 2, 4, 8]);
    assert_eq!(login_delay_secs(u32::MAX), centredesk_core::auth::MAX_LOGIN_DELAY_SECS);
}

#[test]
fn a_disabled_staff_members_open_session_is_refused_at_its_next_call() {
    let c = common::centre();
    let member = c.member("停用测试", "13600000009");
    let clerk_id = c.clerk.staff_id.clone();
    c.core.staff_set_active(&c.admin, &clerk_id, false).unwrap();
    assert_eq!(c.core.session_check(&c.clerk).unwrap_err().code(), "auth.account_disabled");
    // A write checks it itself, inside its transaction, whoever calls the core.
    let update = centredesk_core::members::MemberUpdate {
        name: "停用测试".into(), gender: "男".into(), birthday: None, school: String::new(), course_interest: String::new(),
        notes: "不该保存".into(), tags: vec![], rank: String::new(), referred_by: None,
    };
    let before = c.count("SELECT COUNT(*) FROM change_log");
    assert_eq!(c.core.member_update(&c.clerk, &member.id, update).unwrap_err().code(), "auth.account_disabled");
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log"), before);
    assert_eq!(c.core.login("clerk", PASSWORD).unwrap_err().code(), "auth.account_disabled");
    c.core.staff_set_active(&c.admin, &clerk_id, true).unwrap();
    c.core.session_check(&c.clerk).unwrap();
}

#[test]
fn the_idle_lock_defaults_to_fifteen_minutes_and_the_manager_sets_it() {
    let c = common::centre();
    let s = c.core.settings().unwrap();
    assert_eq!(s.idle_lock_minutes, 15);
    let e = c.core.settings_update(&c.admin, centredesk_core::settings::Settings { idle_lock_minutes: 0, ..s.clone() }).unwrap_err().to_dto(Lang::En);
    assert_eq!((e.code.as_str(), e.field), ("validation.int_range", Some(centredesk_core::error::Field::IdleLockMinutes)), "{e:?}");
    let saved = c.core.settings_update(&c.admin, centredesk_core::settings::Settings { idle_lock_minutes: 5, ..s.clone() }).unwrap();
    assert_eq!(saved.idle_lock_minutes, 5);
    assert_eq!(c.core.settings().unwrap().idle_lock_minutes, 5);
    assert_eq!(c.core.settings_update(&c.clerk, centredesk_core::settings::Settings { idle_lock_minutes: 30, ..s }).unwrap_err().code(), "forbidden");
}

#[test]
fn nothing_leaves_the_desk_in_plain_text_except_to_this_pc() {
    use centredesk_core::notify::delivery::{EmailChannel, NotifyChannels, WebhookChannel};
    let c = common::centre();
    let webhook = |url: &str| NotifyChannels {
        email: EmailChannel::default(),
        webhook: WebhookChannel { url: url.into(), secret: "a-long-enough-secret".into() },
    };
    let e = c.core.notify_channels_set(&c.admin, webhook("http://sms-gateway.example.com/send")).unwrap_err().to_dto(Lang::ZhCn);
    assert_eq!((e.code.as_str(), e.field), ("validation.tls_required", Some(centredesk_core::error::Field::Url)), "{e:?}");
    assert!(e.message.contains("https://"), "{}", e.message);
    c.core.notify_channels_set(&c.admin, webhook("https://sms-gateway.example.com/send")).unwrap();
    c.core.notify_channels_set(&c.admin, webhook("http://127.0.0.1:9/send")).unwrap();
    let smtp = |host: &str, security: &str| NotifyChannels {
        email: EmailChannel { host: host.into(), port: 25, security: security.into(), username: String::new(), password: String::new(), from: "desk@example.com".into() },
        webhook: WebhookChannel::default(),
    };
    let e = c.core.notify_channels_set(&c.admin, smtp("smtp.example.com", "none")).unwrap_err();
    assert_eq!(e.code(), "validation.tls_required");
    c.core.notify_channels_set(&c.admin, smtp("smtp.example.com", "starttls")).unwrap();
    c.core.notify_channels_set(&c.admin, smtp("localhost", "none")).unwrap();
    // Head office: the device token never travels in clear, and nothing is contacted.
    let e = c.core.sync_register(&c.admin, "http://ho.example.com:8787", "C1", "u", "p", "desk").unwrap_err();
    assert_eq!(e.code(), "sync_local");
    assert!(e.to_dto(Lang::En).message.contains("encrypted"), "{}", e.to_dto(Lang::En).message);
}
