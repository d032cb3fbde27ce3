//! Rest-hook delivery: the handshake, then every event in order, then heartbeats, POSTed to
//! each active rest-hook subscription's endpoint (Backport IG, channels.md).
//!
//! One supervisor keeps one worker task per rest-hook subscription. It reads every subscription
//! to serve ([`Notifier::active_subscriptions`]) at start and every [`FULL_RESCAN`]; in between,
//! when the notifier is woken (new events, a subscription created, changed or deleted) and
//! every [`RESCAN`], it reads only the subscriptions the store's change log names since its last
//! look, and wakes only the workers whose queue holds events not yet acknowledged. (Reading all
//! of them and waking every worker at each wake made 10 000 subscriptions a storm of blocking
//! reads at every write: BENCHMARKS.md, "Subscriptions".) A worker sends what the
//! queue holds after the acknowledged number, at most `max-count` events per Bundle, and
//! acknowledges them only after a 2xx answer: delivery is at least once, in order, and
//! restart-safe by construction (the queue and the acknowledged number are in the local store;
//! a restart resends what was not acknowledged). A failure is retried with exponential backoff
//! (1 s, doubling, at most 5 min) until `NotifySettings::retry_for` has passed since the first
//! failure of that Bundle; then the subscription goes to `error` with the reason. Heartbeats
//! are sent when nothing was sent for the subscription's heartbeat period. Every connection
//! follows the endpoint policy ([`super::endpoint`]). See docs/subscriptions.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Notify, Semaphore, watch};

use super::endpoint::{self, Endpoints};
use super::notifier::{
    ChangedSubscriptions, Event, NotificationType, Notifier, NotifyError, State,
};
use super::subscription::{Channel, SubscriptionView};
use crate::generation::Generations;
use crate::metrics::{Metrics, QueueShare};

/// How often the supervisor looks at the change log and the queue without being woken (a missed
/// wake costs at most this).
const RESCAN: Duration = Duration::from_secs(10);
/// How often the supervisor reads every subscription again (a safety net: the change log names
/// every write, but a subscription can also stop being served by reaching its `end`).
const FULL_RESCAN: Duration = Duration::from_secs(300);
/// After a wake, how long the supervisor gathers further wakes before reading the
/// subscriptions (creating 10 000 subscriptions wakes it 10 000 times).
const GATHER: Duration = Duration::from_millis(100);
/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// Notifications in flight at once, over every subscription (a burst after an import must not
/// open thousands of connections at once).
const IN_FLIGHT: usize = 64;
/// The channel name in metrics and logs.
const CHANNEL: &str = "rest-hook";

/// Starts delivering (on the current tokio runtime); `base` is the FHIR base URL notifications
/// name resources with. Its metrics are not served anywhere: use [`spawn_with_metrics`].
pub fn spawn(notifier: Arc<Notifier>, generations: Arc<Generations>, base: String) {
    spawn_with_metrics(notifier, generations, base, Arc::new(Metrics::new()));
}

/// [`spawn`], counting notifications and the queue's depth in `metrics`.
pub fn spawn_with_metrics(
    notifier: Arc<Notifier>,
    generations: Arc<Generations>,
    base: String,
    metrics: Arc<Metrics>,
) {
    let allow = &notifier.settings().allow;
    if let Err(why) = endpoint::check_allow(allow) {
        tracing::warn!("{why}; that entry allows nothing");
    }
    let endpoints = match Endpoints::new(allow) {
        Ok(endpoints) => endpoints,
        Err(why) => {
            tracing::error!("rest-hook subscriptions will not be delivered: {why}");
            return;
        }
    };
    let shared = Arc::new(Shared {
        notifier,
        generations,
        base,
        metrics,
        endpoints,
        in_flight: Semaphore::new(IN_FLIGHT),
    });
    tokio::spawn(supervise(shared));
}

/// What every worker uses.
struct Shared {
    notifier: Arc<Notifier>,
    generations: Arc<Generations>,
    base: String,
    metrics: Arc<Metrics>,
    endpoints: Endpoints,
    in_flight: Semaphore,
}

impl Shared {
    /// Runs a notifier call (sled reads, writes and flushes) off the async workers.
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        call: impl FnOnce(&Shared) -> Result<T, NotifyError> + Send + 'static,
    ) -> Result<T, String> {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || call(&shared))
            .await
            .map_err(|_| "the server is stopping".to_string())?
            .map_err(|e| e.to_string())
    }
}

/// A running worker, as the supervisor holds it: stopped when dropped.
struct Worker {
    view: watch::Sender<SubscriptionView>,
    kick: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Keeps one worker per rest-hook subscription to serve, and wakes them when the notifier is
/// woken.
async fn supervise(shared: Arc<Shared>) {
    let mut workers: HashMap<String, Worker> = HashMap::new();
    // The change log's number up to which subscriptions were read; `None`: read them all.
    let mut seen: Option<u64> = None;
    let mut last_full = Instant::now();
    loop {
        let woken = shared.notifier.wake().notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if last_full.elapsed() >= FULL_RESCAN {
            seen = None;
        }
        match read_subscriptions(&shared, seen).await {
            Ok((Subscriptions::All(views), seq)) => {
                reconcile(&shared, &mut workers, views);
                (seen, last_full) = (Some(seq), Instant::now());
            }
            Ok((Subscriptions::Changed(changed), seq)) => {
                reconcile_changed(&shared, &mut workers, changed);
                seen = Some(seq);
            }
            Err(why) => tracing::warn!(
                "subscriptions: cannot read the subscriptions to deliver ({why}); trying again in {} s",
                RESCAN.as_secs()
            ),
        }
        match shared
            .blocking(|s| s.notifier.pending_subscriptions())
            .await
        {
            Ok(pending) => {
                for worker in pending.iter().filter_map(|id| workers.get(id)) {
                    worker.kick.notify_one();
                }
            }
            Err(why) => tracing::warn!(
                "subscriptions: cannot read which subscriptions have events to send ({why})"
            ),
        }
        tokio::select! {
            () = &mut woken => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(RESCAN) => {}
        }
    }
}

/// What the supervisor read of the subscriptions.
enum Subscriptions {
    /// Every subscription to serve.
    All(Vec<SubscriptionView>),
    /// The subscriptions written since the last look, each with its view when still served.
    Changed(ChangedSubscriptions),
}

/// Every subscription to serve (`seen` is `None`), or those the change log names after
/// `seen`; with the change log's number read up to.
async fn read_subscriptions(
    shared: &Arc<Shared>,
    seen: Option<u64>,
) -> Result<(Subscriptions, u64), String> {
    shared
        .blocking(move |s| match seen {
            None => {
                // The log's number first: a write after it is read again next time.
                let seq = s.notifier.store().last_seq()?;
                Ok((Subscriptions::All(s.notifier.active_subscriptions()?), seq))
            }
            Some(seq) => {
                let (changed, seq) = s.notifier.subscriptions_changed_after(seq)?;
                Ok((Subscriptions::Changed(changed), seq))
            }
        })
        .await
}

/// Starts workers for new rest-hook subscriptions, gives running ones their subscription's
/// new version, and stops those no longer to serve (deleted, `off`, `error`, ended).
fn reconcile(
    shared: &Arc<Shared>,
    workers: &mut HashMap<String, Worker>,
    views: Vec<SubscriptionView>,
) {
    let views: HashMap<String, SubscriptionView> = views
        .into_iter()
        .filter(|view| view.channel == Channel::RestHook)
        .map(|view| (view.id.clone(), view))
        .collect();
    workers.retain(|id, worker| views.contains_key(id) && !worker.task.is_finished());
    for (id, view) in views {
        serve(shared, workers, id, view);
    }
}

/// [`reconcile`] for the subscriptions written since the last look only.
fn reconcile_changed(
    shared: &Arc<Shared>,
    workers: &mut HashMap<String, Worker>,
    changed: ChangedSubscriptions,
) {
    for (id, view) in changed {
        match view.filter(|view| view.channel == Channel::RestHook) {
            Some(view) => serve(shared, workers, id, view),
            None => {
                workers.remove(&id);
            }
        }
    }
    workers.retain(|_, worker| !worker.task.is_finished());
}

/// Gives a running worker its subscription's new version, or starts one.
fn serve(
    shared: &Arc<Shared>,
    workers: &mut HashMap<String, Worker>,
    id: String,
    view: SubscriptionView,
) {
    if let Some(worker) = workers.get(&id)
        && !worker.task.is_finished()
    {
        worker.view.send_if_modified(|current| {
            let changed = current.version != view.version;
            if changed {
                *current = view;
            }
            changed
        });
        return;
    }
    let (sender, receiver) = watch::channel(view);
    let kick = Arc::new(Notify::new());
    let delivery = Delivery::new(shared.clone(), id.clone(), receiver, kick.clone());
    let task = tokio::spawn(delivery.run());
    workers.insert(
        id,
        Worker {
            view: sender,
            kick,
            task,
        },
    );
}

/// What one step of a worker did.
enum Step {
    /// Sent something: look for more at once.
    Sent,
    /// Nothing to send; a heartbeat is due at this instant, if any.
    Idle(Option<Instant>),
}

/// The failures of one Bundle: since when, and how long to wait before the next attempt.
struct Failing {
    since: Instant,
    wait: Duration,
}

/// One rest-hook subscription's delivery.
struct Delivery {
    shared: Arc<Shared>,
    id: String,
    view: watch::Receiver<SubscriptionView>,
    kick: Arc<Notify>,
    depth: QueueShare,
    /// When something was last sent (or a heartbeat last attempted): heartbeats are due a
    /// period after it.
    last_sent: Instant,
    failing: Option<Failing>,
    /// The version of the subscription whose handshake was accepted (its status is set to
    /// `active` by a new version, which reaches this worker a moment later).
    handshaken: Option<u32>,
}

impl Delivery {
    fn new(
        shared: Arc<Shared>,
        id: String,
        view: watch::Receiver<SubscriptionView>,
        kick: Arc<Notify>,
    ) -> Delivery {
        Delivery {
            depth: shared.metrics.queue_share(),
            shared,
            id,
            view,
            kick,
            last_sent: Instant::now(),
            failing: None,
            handshaken: None,
        }
    }

    async fn run(mut self) {
        loop {
            let view = self.view.borrow_and_update().clone();
            match self.step(&view).await {
                Ok(Step::Sent) => {
                    self.failing = None;
                    self.last_sent = Instant::now();
                }
                Ok(Step::Idle(heartbeat)) => self.idle(heartbeat).await,
                Err(reason) => {
                    if !self.failed(&view, &reason).await {
                        return;
                    }
                }
            }
        }
    }

    /// One thing to do: the handshake of a `requested` subscription, else the next Bundle of
    /// events, else a heartbeat when due.
    async fn step(&mut self, view: &SubscriptionView) -> Result<Step, String> {
        if view.state == State::Requested && self.handshaken != Some(view.version) {
            return self.handshake(view).await;
        }
        let id = self.id.clone();
        let Some((total, acknowledged)) = self
            .shared
            .blocking(move |s| s.notifier.counters(&id))
            .await?
        else {
            return Ok(Step::Idle(None)); // deleted: the supervisor stops this worker
        };
        self.depth.set(total.saturating_sub(acknowledged));
        if total > acknowledged {
            return self.events(view, acknowledged, total).await;
        }
        let Some(period) = view.heartbeat else {
            return Ok(Step::Idle(None));
        };
        let due = self.last_sent + period;
        if Instant::now() < due {
            return Ok(Step::Idle(Some(due)));
        }
        // A heartbeat that fails is not retried: the next one is a period later, and a
        // receiver down long enough is found out by the events it does not acknowledge.
        self.last_sent = Instant::now();
        if let Err(why) = self
            .send(view, NotificationType::Heartbeat, Vec::new())
            .await
        {
            tracing::info!("subscription {}: heartbeat not delivered ({why})", self.id);
        }
        Ok(Step::Idle(Some(self.last_sent + period)))
    }

    async fn handshake(&mut self, view: &SubscriptionView) -> Result<Step, String> {
        self.send(view, NotificationType::Handshake, Vec::new())
            .await?;
        self.handshaken = Some(view.version);
        let id = self.id.clone();
        self.shared
            .blocking(move |s| s.notifier.set_state(&id, State::Active, None))
            .await?;
        tracing::info!(
            "subscription {}: handshake accepted by {}; the subscription is active",
            self.id,
            view.endpoint.as_deref().unwrap_or_default()
        );
        Ok(Step::Sent)
    }

    /// Sends the events after `acknowledged` (at most `max-count`) and acknowledges them.
    async fn events(
        &mut self,
        view: &SubscriptionView,
        acknowledged: u64,
        total: u64,
    ) -> Result<Step, String> {
        let id = self.id.clone();
        let limit = view.max_count.max(1);
        let events = self
            .shared
            .blocking(move |s| s.notifier.events(&id, acknowledged + 1, None, limit))
            .await?;
        let Some(last) = events.last().map(|e| e.number) else {
            // The queue says there are more events than it holds: nothing can be sent, and
            // waiting would not change it.
            tracing::warn!(
                "subscription {}: events {}..={total} are counted but no longer queued; skipping them",
                self.id,
                acknowledged + 1
            );
            self.acknowledge(total).await?;
            return Ok(Step::Sent);
        };
        let count = events.len() as u64;
        self.send(view, NotificationType::EventNotification, events)
            .await?;
        self.acknowledge(last).await?;
        self.shared.metrics.events_delivered(CHANNEL, count);
        self.depth.set(total.saturating_sub(last));
        Ok(Step::Sent)
    }

    async fn acknowledge(&self, number: u64) -> Result<(), String> {
        let id = self.id.clone();
        self.shared
            .blocking(move |s| s.notifier.acknowledge(&id, number))
            .await
    }

    /// Builds the notification and POSTs it; `Ok` only on a 2xx answer.
    async fn send(
        &self,
        view: &SubscriptionView,
        kind: NotificationType,
        events: Vec<Event>,
    ) -> Result<(), String> {
        let id = self.id.clone();
        let bundle = self
            .shared
            .blocking(move |s| {
                s.notifier
                    .notification(&id, kind, &events, &s.base, &s.generations)
            })
            .await?;
        let sent = self.post(view, &bundle).await;
        self.shared.metrics.notification(CHANNEL, sent.is_ok());
        sent
    }

    async fn post(&self, view: &SubscriptionView, bundle: &Value) -> Result<(), String> {
        let endpoint = view
            .endpoint
            .as_deref()
            .ok_or("the subscription has no endpoint")?;
        let url = self.shared.endpoints.url(endpoint).await?;
        let (content_type, body) = encode(&view.payload, bundle)?;
        let mut request = self
            .shared
            .endpoints
            .client()
            .post(url)
            .timeout(view.timeout)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        for line in &view.headers {
            match header(line) {
                Some((name, value)) => request = request.header(name, value),
                None => tracing::warn!(
                    "subscription {}: the channel.header `{}` is not `Name: value`; not sent",
                    self.id,
                    line.split(':').next().unwrap_or_default()
                ),
            }
        }
        let _slot = self
            .shared
            .in_flight
            .acquire()
            .await
            .map_err(|_| "the server is stopping".to_string())?;
        let response = request
            .send()
            .await
            .map_err(|e| describe(&e, view.timeout))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let redirect = if status.is_redirection() {
            " (redirects are not followed: give the final URL as the endpoint)"
        } else {
            ""
        };
        Err(format!("the endpoint answered {status}{redirect}"))
    }

    /// Waits for a wake (the supervisor's, when this subscription has events to send), a change
    /// of the subscription, or the next heartbeat. Without a heartbeat it waits for the first
    /// two only: thousands of idle workers checking their queue on a timer would be a storm of
    /// reads for nothing.
    async fn idle(&mut self, heartbeat: Option<Instant>) {
        let until = heartbeat.unwrap_or_else(|| Instant::now() + FULL_RESCAN * 12);
        tokio::select! {
            () = self.kick.notified() => {}
            _ = self.view.changed() => {}
            () = tokio::time::sleep_until(until.into()) => {}
        }
    }

    /// Counts a failure: waits the backoff and returns `true` to try again, or, the retry
    /// period being over, sets the subscription to `error` and returns `false`.
    async fn failed(&mut self, view: &SubscriptionView, reason: &str) -> bool {
        let retry_for = self.shared.notifier.settings().retry_for;
        let failing = self.failing.get_or_insert(Failing {
            since: Instant::now(),
            wait: FIRST_BACKOFF,
        });
        if failing.since.elapsed() >= retry_for {
            let reason = format!(
                "{reason}; notifications were retried for {} without success",
                duration_words(retry_for)
            );
            tracing::warn!(
                "subscription {}: {reason}; its status is now error",
                self.id
            );
            let id = self.id.clone();
            let recorded = reason.clone();
            if let Err(why) = self
                .shared
                .blocking(move |s| s.notifier.set_state(&id, State::Error, Some(&recorded)))
                .await
            {
                tracing::warn!(
                    "subscription {}: cannot record its error status yet ({why}); trying again",
                    self.id
                );
                tokio::time::sleep(FIRST_BACKOFF).await;
                return true;
            }
            return false;
        }
        let wait = failing.wait;
        failing.wait = (wait * 2).min(MAX_BACKOFF);
        tracing::info!(
            "subscription {}: {reason} ({}), retrying in {}",
            self.id,
            view.endpoint.as_deref().unwrap_or_default(),
            duration_words(wait)
        );
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            // A new endpoint or header may be what was missing: try it at once.
            _ = self.view.changed() => {
                self.failing = None;
            }
        }
        true
    }
}

/// The body of a notification in the subscription's payload type.
pub(super) fn encode(payload: &str, bundle: &Value) -> Result<(&'static str, Vec<u8>), String> {
    let json = serde_json::to_vec(bundle).map_err(|e| format!("cannot write the Bundle: {e}"))?;
    if payload == "application/fhir+xml" {
        let xml = crate::fhir::xml::from_json(&json)
            .map_err(|e| format!("cannot write the Bundle as XML: {e:?}"))?;
        return Ok(("application/fhir+xml", xml));
    }
    Ok(("application/fhir+json", json))
}

/// A `channel.header` line as an HTTP header (name and value valid), or `None`. The headers
/// this channel sets itself are not overridden.
fn header(line: &str) -> Option<(reqwest::header::HeaderName, reqwest::header::HeaderValue)> {
    let (name, value) = line.split_once(':')?;
    let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
    if matches!(
        name.as_str(),
        "content-type" | "content-length" | "host" | "transfer-encoding" | "connection"
    ) {
        return None;
    }
    let value = reqwest::header::HeaderValue::from_str(value.trim()).ok()?;
    Some((name, value))
}

/// Why a request failed, in words for a log and for `Subscription.error`.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {}", duration_words(timeout));
    }
    let cause = innermost(error);
    if error.is_connect() {
        return format!("endpoint unreachable ({cause})");
    }
    format!("the request failed ({cause})")
}

/// The last error of a chain: the one that says what happened (`connection refused`).
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    let text = current.to_string();
    // `Connection refused (os error 111)`: the OS number says nothing to a person.
    match text.find(" (os error") {
        Some(at) => text[..at].to_ascii_lowercase(),
        None => text,
    }
}

/// `8 s`, `5 min`, `24 h`.
fn duration_words(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 3600 && seconds.is_multiple_of(3600) {
        format!("{} h", seconds / 3600)
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_colon_value() {
        let (name, value) = header("Authorization: Bearer abc").unwrap();
        assert_eq!(name.as_str(), "authorization");
        assert_eq!(value.to_str().unwrap(), "Bearer abc");
        assert!(header("no colon").is_none());
        assert!(header("bad name: x").is_none());
        assert!(header("Content-Type: text/plain").is_none());
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration_words(Duration::from_secs(8)), "8 s");
        assert_eq!(duration_words(Duration::from_secs(300)), "5 min");
        assert_eq!(duration_words(Duration::from_secs(24 * 3600)), "24 h");
        assert_eq!(duration_words(Duration::from_secs(90)), "90 s");
    }
}
