//! The core's integration tests, linked into one test binary (one link of SQLite and
//! the rest instead of one per file): each module is a suite on real SQLite files.

mod common;

mod access;
mod analysis;
mod backups;
mod cashdesk;
mod churn;
mod duplicates;
mod export;
mod feedback;
mod group_messages;
mod handover;
mod front_desk;
mod goods;
mod hostile_files;
mod import;
mod ledger_props;
mod member_numbers;
mod money_follow_ups;
mod migrations;
mod payload_keys;
mod phone_requests;
mod portal;
mod notify;
mod printing;
mod referrals;
mod report_caches;
mod reports;
mod roles;
mod scorecard;
mod search;
mod tiers;
mod timetable;
mod truth;
mod visits;
mod write_path;
