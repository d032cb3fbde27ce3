//! The lookup page's sessions: server-side, in memory, per instance (plan D3). The browser
//! holds only a random 256-bit id in the `annuaire_session` cookie; a session ends after
//! `session_idle_minutes` unused or `session_max_hours` after sign-in, and the oldest are
//! dropped when there are too many. Lost on restart: the person signs in again.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::super::caller::Caller;
use super::super::psc::PscClaims;
use crate::clock::Clock;

/// Sessions kept at most; the oldest is dropped for a new one beyond.
pub const MAX_SESSIONS: usize = 100_000;

/// 32 random bytes (rand's thread generator: a CSPRNG seeded by the operating system),
/// base64url: a session id, a CSRF token, a login cookie.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signed-in person's session, kept on the server; the browser holds only its id.
#[derive(Debug)]
pub struct Session {
    pub caller: Arc<Caller>,
    pub claims: PscClaims,
    /// What an unsafe request made with the session cookie must carry in `X-CSRF-Token`.
    pub csrf: String,
    /// The person's name as the provider gave it (`given_name family_name`), for the page.
    pub name: Option<String>,
    /// The ID token, sent back as `id_token_hint` at sign-out. Never shown to the browser.
    pub id_token: String,
    /// When the person signed in (Unix seconds, server clock).
    pub signed_in: u64,
    /// When the session ends whatever happens (Unix seconds).
    pub ends_at: u64,
    /// When it was last used (Unix seconds).
    last_used: AtomicU64,
    idle: u64,
}

impl Session {
    /// When the session ends if unused from now on (Unix seconds).
    pub fn expires(&self) -> u64 {
        self.last_used
            .load(Ordering::Relaxed)
            .saturating_add(self.idle)
            .min(self.ends_at)
    }
}

/// What a new session is made of (the sign-in fills it in).
#[derive(Debug)]
pub struct NewSession {
    pub caller: Arc<Caller>,
    pub claims: PscClaims,
    pub name: Option<String>,
    pub id_token: String,
}

/// The sessions of one server.
#[derive(Debug)]
pub struct Sessions {
    by_id: Mutex<Store>,
    idle: Duration,
    max: Duration,
    capacity: usize,
    clock: Clock,
}

#[derive(Debug, Default)]
struct Store {
    sessions: HashMap<String, Arc<Session>>,
    /// Ids in creation order, for eviction (ids already removed are skipped).
    order: VecDeque<String>,
}

impl Sessions {
    pub fn new(idle: Duration, max: Duration, clock: Clock) -> Sessions {
        Sessions {
            by_id: Mutex::new(Store::default()),
            idle,
            max,
            capacity: MAX_SESSIONS,
            clock,
        }
    }

    /// The same, holding at most `capacity` sessions (tests).
    pub fn with_capacity(mut self, capacity: usize) -> Sessions {
        self.capacity = capacity.max(1);
        self
    }

    /// Opens a session; returns its id (the cookie's value) and the session.
    pub fn create(&self, new: NewSession) -> (String, Arc<Session>) {
        let now = self.clock.unix_seconds();
        let id = random_token();
        let session = Arc::new(Session {
            caller: new.caller,
            claims: new.claims,
            csrf: random_token(),
            name: new.name,
            id_token: new.id_token,
            signed_in: now,
            ends_at: now.saturating_add(self.max.as_secs()),
            last_used: AtomicU64::new(now),
            idle: self.idle.as_secs(),
        });
        let mut store = self.by_id.lock().expect("sessions lock");
        while store.sessions.len() >= self.capacity {
            let Some(oldest) = store.order.pop_front() else {
                break;
            };
            store.sessions.remove(&oldest);
        }
        store.sessions.insert(id.clone(), session.clone());
        store.order.push_back(id.clone());
        (id, session)
    }

    /// The live session `id` names, marked as used now; an expired one is removed.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        let now = self.clock.unix_seconds();
        let mut store = self.by_id.lock().expect("sessions lock");
        let session = store.sessions.get(id)?.clone();
        if now >= session.expires() {
            store.sessions.remove(id);
            return None;
        }
        session.last_used.store(now, Ordering::Relaxed);
        Some(session)
    }

    /// Ends session `id`; returns it if it was live.
    pub fn end(&self, id: &str) -> Option<Arc<Session>> {
        self.by_id
            .lock()
            .expect("sessions lock")
            .sessions
            .remove(id)
    }

    /// Drops the expired sessions and compacts the eviction order (called periodically).
    pub fn forget_expired(&self) -> usize {
        let now = self.clock.unix_seconds();
        let mut store = self.by_id.lock().expect("sessions lock");
        let before = store.sessions.len();
        store.sessions.retain(|_, s| now < s.expires());
        let Store { sessions, order } = &mut *store;
        order.retain(|id| sessions.contains_key(id));
        before - store.sessions.len()
    }

    pub fn len(&self) -> usize {
        self.by_id.lock().expect("sessions lock").sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::caller::Identity;

    fn new_session() -> NewSession {
        NewSession {
            caller: Arc::new(Caller {
                identity: Identity::Token {
                    issuer: "https://psc.example".into(),
                    subject: "s".into(),
                    national_id: Some("810000000001".into()),
                    roles: vec![],
                },
                permissions: Default::default(),
                rules: vec![],
                channel: crate::auth::caller::Channel::Session,
            }),
            claims: PscClaims::default(),
            name: None,
            id_token: "t".into(),
        }
    }

    fn sessions() -> (Sessions, crate::clock::ClockHandle) {
        let (clock, handle) = Clock::manual(time::macros::datetime!(2026-12-01 10:00 UTC));
        let sessions = Sessions::new(
            Duration::from_secs(30 * 60),
            Duration::from_secs(10 * 3600),
            clock,
        );
        (sessions, handle)
    }

    #[test]
    fn ids_and_csrf_tokens_are_256_random_bits() {
        let (sessions, _) = sessions();
        let (id, session) = sessions.create(new_session());
        assert_eq!(URL_SAFE_NO_PAD.decode(&id).unwrap().len(), 32);
        assert_eq!(URL_SAFE_NO_PAD.decode(&session.csrf).unwrap().len(), 32);
        assert_ne!(id, session.csrf);
        assert_ne!(sessions.create(new_session()).0, id);
    }

    #[test]
    fn an_idle_session_ends_and_use_keeps_it_alive() {
        let (sessions, clock) = sessions();
        let (id, _) = sessions.create(new_session());
        clock.advance(Duration::from_secs(29 * 60));
        assert!(sessions.get(&id).is_some(), "used within the idle time");
        clock.advance(Duration::from_secs(29 * 60));
        assert!(
            sessions.get(&id).is_some(),
            "the idle time counts from the last use"
        );
        clock.advance(Duration::from_secs(30 * 60));
        assert!(sessions.get(&id).is_none(), "unused for 30 minutes");
        assert!(sessions.is_empty());
    }

    #[test]
    fn a_used_session_still_ends_at_the_absolute_limit() {
        let (sessions, clock) = sessions();
        let (id, _) = sessions.create(new_session());
        for _ in 0..(10 * 60 / 20 - 1) {
            clock.advance(Duration::from_secs(20 * 60));
            assert!(sessions.get(&id).is_some());
        }
        clock.advance(Duration::from_secs(20 * 60));
        assert!(sessions.get(&id).is_none(), "10 hours after sign-in");
    }

    #[test]
    fn the_oldest_session_is_dropped_beyond_the_bound_and_an_ended_one_is_gone() {
        let (sessions, _) = sessions();
        let sessions = sessions.with_capacity(2);
        let (first, _) = sessions.create(new_session());
        let (second, _) = sessions.create(new_session());
        let (third, _) = sessions.create(new_session());
        assert!(sessions.get(&first).is_none());
        assert!(sessions.get(&second).is_some() && sessions.get(&third).is_some());
        assert!(sessions.end(&second).is_some());
        assert!(sessions.get(&second).is_none());
        assert!(sessions.end(&second).is_none());
    }
}
