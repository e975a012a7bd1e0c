//! A job before it runs: its request checked and fixed at submit time,
//! and the record that either starts its task or waits in the gate's
//! queue.

use std::sync::Arc;
use std::time::Duration;

use quotient_api::{AuthRequirement, HttpRequest, IncomingResponse, Metadata, RequestBody};
use url::Url;

use super::run;
use crate::connection::ConnectionInner;
use crate::jobs::abandon::CloseOnDrop;
use crate::jobs::bearer::Bearer;
use crate::jobs::gate::{Admission, Permit};
use crate::jobs::outcome::abandoned;
use crate::jobs::queue::QueuedJob;
use crate::jobs::shared::JobShared;
use crate::jobs::sink::SinkSlot;
use crate::jobs::{Error, JobOptions, StatusCode};

/// A job ready to run: what was fixed when it was submitted, in one
/// allocation the runner reads from.
pub(crate) struct Prepared {
    pub meta: MetaRef,
    /// Header parameters and body; none for a plain GET, which is what
    /// most queued jobs (long-polls) are.
    pub payload: Option<Box<Payload>>,
    pub url: Url,
    pub token: Option<Arc<Bearer>>,
    pub server_wait: Option<Duration>,
    /// Shared with the connection's defaults unless the job has its own.
    pub options: Arc<JobOptions>,
    /// Where a 2xx body goes instead of memory (a download to a file).
    pub sink: Option<Box<SinkSlot>>,
}

/// What a request carries besides its URL.
pub(crate) struct Payload {
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
}

pub(super) static NO_BODY: RequestBody = RequestBody::Empty;

/// A job's metadata: the generated endpoint's own (static), or one made at
/// run time for `submit_request`.
pub(crate) enum MetaRef {
    Static(&'static Metadata),
    Owned(Box<Metadata>),
}

impl std::ops::Deref for MetaRef {
    type Target = Metadata;

    fn deref(&self) -> &Metadata {
        match self {
            MetaRef::Static(meta) => meta,
            MetaRef::Owned(meta) => meta,
        }
    }
}

/// Checks what can be checked before anything runs: the request was built,
/// the access token is there if the endpoint needs one, the URL is valid.
/// A job failing here finishes at once, without a task.
pub(crate) fn prepare(
    conn: &ConnectionInner,
    meta: MetaRef,
    request: Result<HttpRequest, Error>,
    server_wait: Option<Duration>,
    options: Arc<JobOptions>,
) -> Result<Prepared, Error> {
    let request = request?;
    meta.check_path(&request.path_and_query).map_err(|e| {
        Error::new(
            StatusCode::IncorrectRequest,
            format!("cannot build the request: {e}"),
        )
    })?;
    let token = match meta.auth {
        AuthRequirement::None => None,
        AuthRequirement::Optional | AuthRequirement::Required => conn.shared_access_token(),
    };
    if meta.auth == AuthRequirement::Required && token.is_none() {
        return Err(Error::new(
            StatusCode::Unauthorised,
            format!(
                "{} needs an access token and the connection has none",
                meta.operation_id
            ),
        ));
    }
    let url = conn.url_for(&request.path_and_query)?;
    let HttpRequest { headers, body, .. } = request;
    let payload = (!headers.is_empty() || !matches!(body, RequestBody::Empty))
        .then(|| Box::new(Payload { headers, body }));
    Ok(Prepared {
        meta,
        payload,
        url,
        token,
        server_wait,
        options,
        sink: None,
    })
}

/// A job ready to run, in one allocation: what was fixed when it was
/// submitted, and the connection and job it belongs to. A job waiting for
/// its first connection slot is only this, queued at the gate.
pub(crate) struct Record<R> {
    pub conn: Arc<ConnectionInner>,
    pub spec: Prepared,
    pub job: CloseOnDrop<R>,
    /// Where the job's task is spawned.
    pub runtime: tokio::runtime::Handle,
}

impl<R> Record<R> {
    /// A long-poll keeps its connection while the server waits.
    fn long_poll(&self) -> bool {
        self.spec.server_wait.is_some_and(|w| !w.is_zero())
    }
}

impl<R: IncomingResponse + Send + 'static> QueuedJob for Record<R> {
    fn start(self: Box<Self>, permit: Permit) {
        let runtime = self.runtime.clone();
        runtime.spawn(run(self, Some(permit)));
    }

    fn long_poll(&self) -> bool {
        Record::long_poll(self)
    }

    fn abandon(self: Box<Self>) {
        tracing::debug!(
            op = self.spec.meta.operation_id,
            "job abandoned while it waited for a connection slot"
        );
        self.job.fail(abandoned());
    }
}

/// Starts a job: its task now, with a slot if one is free; otherwise the
/// job waits in the gate's queue as a record and its task is spawned when
/// a slot is there. A job with a deadline waits as a task, so that the
/// deadline bounds the wait.
pub(crate) fn launch<R: IncomingResponse + Send + 'static>(
    record: Box<Record<R>>,
    shared: &JobShared<R>,
) {
    let options = &record.spec.options;
    if options.backoff.deadline.is_some() {
        let runtime = record.runtime.clone();
        runtime.spawn(run(record, None));
        return;
    }
    let (priority, long_poll) = (options.priority, record.long_poll());
    let gate = record.conn.gate.clone();
    let mut record = Some(record);
    let admission = gate.admit(priority, long_poll, || {
        record.take().expect("taken once") as Box<dyn QueuedJob>
    });
    match admission {
        Admission::Now(permit) => {
            let record = record.expect("not queued");
            let runtime = record.runtime.clone();
            runtime.spawn(run(record, Some(permit)));
        }
        Admission::Queued(ticket) => shared.set_ticket(ticket),
    }
}
