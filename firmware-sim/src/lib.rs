//! `neurite-board`: the board daemon. It serves Neurite's gRPC protocol
//! (`proto/neurite/v1/board.proto`) on top of the emulator, as the reference
//! for hardware daemons: one board, one controlling client at a time (a
//! lease), size limits, optional bearer-token authentication, the standard
//! health service and server reflection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use neurite_chip::ChipProfile;
use neurite_host::convert::{
    Addressed, config_from_proto, energy_to_wire, info_to_proto, input_from_proto, loaded_to_proto,
    output_to_proto, probe_specs_from_proto, probe_to_proto, run_status_to_proto,
    target_from_proto,
};
use neurite_host::{
    Board, DEFAULT_STEP_RECORDS, LearningVar, LoadedProgram, LocalBoard, RunLength, RunStatus,
    SpikeReceiver,
};
use neurite_proto::v1::board_server::{Board as BoardRpc, BoardServer};
use neurite_proto::{CLIENT_KEY, ProgramAssembler, ProtoError, core_limits, v1};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// How a daemon is set up.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The chip (or multi-chip system) to emulate.
    pub chip: ChipProfile,
    /// Bearer token clients must present; `None` for no authentication.
    pub token: Option<String>,
    /// Largest message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Largest Program accepted, in bytes of its encoding.
    pub max_program_bytes: u64,
    /// A lease without control calls for this long may be taken over.
    pub lease_timeout: Duration,
    /// Step records of the energy model kept for GetEnergy (`None`: all);
    /// totals cover every step either way.
    pub step_records: Option<usize>,
}

impl DaemonConfig {
    /// Defaults: no token, 8 MiB messages, 4 GiB Programs, 60 s leases,
    /// the most recent [`DEFAULT_STEP_RECORDS`] step records.
    pub fn new(chip: ChipProfile) -> Self {
        Self {
            chip,
            token: None,
            max_message_bytes: 8 << 20,
            max_program_bytes: 4 << 30,
            lease_timeout: Duration::from_secs(60),
            step_records: Some(DEFAULT_STEP_RECORDS),
        }
    }
}

/// Step records in one energy reply, below common message limits.
const ENERGY_PAGE: usize = 16_384;
/// Messages queued towards a slow client before the board waits.
const REPLY_BUFFER: usize = 256;

/// Who controls the board.
#[derive(Debug, Default)]
struct Lease {
    holder: Option<Holder>,
}

#[derive(Debug)]
struct Holder {
    client: String,
    last_call: Instant,
    /// Streaming calls (runs, spike streams) in flight; they keep the lease.
    streaming: u32,
}

/// The gRPC service over one emulated board.
#[derive(Debug, Clone)]
pub struct BoardService {
    board: LocalBoard,
    config: Arc<DaemonConfig>,
    lease: Arc<Mutex<Lease>>,
    /// The loaded Program as the board described it (population widths).
    loaded: Arc<Mutex<Option<LoadedProgram>>>,
}

type RpcResult<T> = Result<Response<T>, Status>;
type ReplyStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The client a request comes from: its `x-neurite-client` name, or its
/// address when it gave none.
fn client_of<T>(request: &Request<T>) -> String {
    match request
        .metadata()
        .get(CLIENT_KEY)
        .and_then(|v| v.to_str().ok())
    {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => request
            .remote_addr()
            .map_or_else(|| "anonymous".to_string(), |a| format!("peer {a}")),
    }
}

fn upload_error(e: ProtoError) -> Status {
    match e {
        ProtoError::TooLarge { .. } => Status::resource_exhausted(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

impl BoardService {
    /// A service over a fresh board emulating the configured chip.
    pub fn new(config: DaemonConfig) -> Self {
        Self {
            board: LocalBoard::with_step_records(config.chip.clone(), config.step_records),
            config: Arc::new(config),
            lease: Arc::default(),
            loaded: Arc::default(),
        }
    }

    fn lease(&self) -> std::sync::MutexGuard<'_, Lease> {
        // A panic elsewhere while holding the lock leaves a usable lease.
        self.lease.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes (or renews) the lease for `client`, for a call that holds it
    /// while it streams when `streaming`.
    fn acquire(&self, client: &str, streaming: bool) -> Result<(), Status> {
        let mut lease = self.lease();
        let now = Instant::now();
        if let Some(holder) = &mut lease.holder {
            if holder.client == client {
                holder.last_call = now;
                holder.streaming += u32::from(streaming);
                return Ok(());
            }
            let idle = now.duration_since(holder.last_call);
            if holder.streaming > 0 || idle < self.config.lease_timeout {
                return Err(Status::failed_precondition(format!(
                    "client '{}' controls the board; it must release it first (or stay idle for {} s)",
                    holder.client,
                    self.config.lease_timeout.as_secs()
                )));
            }
            tracing::info!(
                "lease of '{}' expired after {} s idle; '{client}' takes it",
                holder.client,
                idle.as_secs()
            );
        }
        lease.holder = Some(Holder {
            client: client.to_string(),
            last_call: now,
            streaming: u32::from(streaming),
        });
        Ok(())
    }

    /// Ends the lease of `client` (it released).
    fn release_lease(&self, client: &str) {
        let mut lease = self.lease();
        if lease.holder.as_ref().is_some_and(|h| h.client == client) {
            lease.holder = None;
        }
    }

    /// A streaming call of `client` ended (or failed to start); the lease
    /// ends with the last of them.
    fn end_streaming(&self, client: &str) {
        let mut lease = self.lease();
        if let Some(holder) = &mut lease.holder
            && holder.client == client
        {
            holder.streaming = holder.streaming.saturating_sub(1);
            if holder.streaming == 0 {
                lease.holder = None;
            }
        }
    }

    fn holder(&self) -> String {
        self.lease()
            .holder
            .as_ref()
            .map(|h| h.client.clone())
            .unwrap_or_default()
    }

    /// After a run of `client` ends; when the client left while it ran, the
    /// board pauses (nobody else could have started anything meanwhile: the
    /// run held the lease).
    async fn close_run(&self, client: &str, left: bool) {
        if left && let Err(e) = self.board.pause().await {
            tracing::warn!("pausing after '{client}' left: {e}");
        }
        self.end_streaming(client);
    }
}

#[tonic::async_trait]
impl BoardRpc for BoardService {
    async fn get_info(&self, _: Request<v1::GetInfoRequest>) -> RpcResult<v1::BoardInfo> {
        let mut info = self.board.info().await?;
        info.lease_holder = self.holder();
        info.max_message_bytes = self.config.max_message_bytes as u64;
        if self.config.token.is_some() {
            info.capabilities.push("auth".to_string());
        }
        Ok(Response::new(info_to_proto(
            &info,
            Some(core_limits(&self.config.chip)),
        )))
    }

    async fn load_program(
        &self,
        request: Request<Streaming<v1::ProgramChunk>>,
    ) -> RpcResult<v1::LoadProgramResponse> {
        let client = client_of(&request);
        self.acquire(&client, false)?;
        let mut chunks = request.into_inner();
        let mut assembler = ProgramAssembler::new(self.config.max_program_bytes);
        while let Some(chunk) = chunks
            .message()
            .await
            .map_err(|s| Status::new(s.code(), format!("program upload: {}", s.message())))?
        {
            assembler.push(chunk).map_err(upload_error)?;
        }
        let (program, bytes) = tokio::task::spawn_blocking(move || assembler.finish())
            .await
            .map_err(|e| Status::internal(format!("program decoding failed: {e}")))?
            .map_err(upload_error)?;
        let id = neurite_host::program_id(&bytes);
        drop(bytes);
        let loaded = self.board.load_as(program, id).await?;
        tracing::info!(
            client,
            program = loaded.program_id,
            cores = loaded.cores,
            synapses = loaded.synapses,
            "program loaded"
        );
        *self.loaded.lock().unwrap_or_else(|e| e.into_inner()) = Some(loaded.clone());
        Ok(Response::new(loaded_to_proto(&loaded)))
    }

    type RunStream = ReplyStream<v1::RunStatus>;

    async fn run(&self, request: Request<v1::RunRequest>) -> RpcResult<Self::RunStream> {
        let client = client_of(&request);
        let request = request.into_inner();
        let length = match request.length {
            Some(v1::run_request::Length::Steps(n)) => RunLength::Steps(n),
            Some(v1::run_request::Length::Continuous(true)) => RunLength::Continuous,
            _ => {
                return Err(Status::invalid_argument(
                    "a run needs a number of steps or `continuous`",
                ));
            }
        };
        self.acquire(&client, true)?;
        let mut handle = match self.board.run(length, request.progress_every).await {
            Ok(handle) => handle,
            Err(e) => {
                self.end_streaming(&client);
                return Err(e.into());
            }
        };
        tracing::info!(client, ?length, "run started");
        let (replies, stream) = mpsc::channel(REPLY_BUFFER);
        let service = self.clone();
        tokio::spawn(async move {
            let mut left = false;
            loop {
                tokio::select! {
                    status = handle.next() => match status {
                        Some(status) => {
                            let last = !matches!(status, RunStatus::Started(_) | RunStatus::Progress(_));
                            if replies.send(Ok(run_status_to_proto(&status))).await.is_err() {
                                left = !last;
                                break;
                            }
                            if last {
                                break;
                            }
                        }
                        None => break,
                    },
                    () = replies.closed() => {
                        tracing::info!(client, "client left its run");
                        left = true;
                        break;
                    }
                }
            }
            service.close_run(&client, left).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(stream))))
    }

    async fn pause(&self, request: Request<v1::PauseRequest>) -> RpcResult<v1::BoardStatus> {
        self.acquire(&client_of(&request), false)?;
        let status = self.board.pause().await?;
        Ok(Response::new(board_status(status)))
    }

    async fn stop(&self, request: Request<v1::StopRequest>) -> RpcResult<v1::BoardStatus> {
        self.acquire(&client_of(&request), false)?;
        let status = self.board.stop().await?;
        Ok(Response::new(board_status(status)))
    }

    async fn reset(&self, request: Request<v1::ResetRequest>) -> RpcResult<v1::BoardStatus> {
        self.acquire(&client_of(&request), false)?;
        let status = self.board.reset().await?;
        Ok(Response::new(board_status(status)))
    }

    async fn get_state(&self, request: Request<v1::GetStateRequest>) -> RpcResult<v1::StateValues> {
        let values = match target_from_proto(request.into_inner().target)? {
            Addressed::Neurons(target) => self.board.get_state(&target).await?,
            Addressed::Learning {
                projection,
                var,
                start,
                count,
            } => {
                let mut all = self.board.learned(&projection).await?.values(var);
                let first = start as usize;
                let end = count.map_or(all.len().max(first), |c| first.saturating_add(c as usize));
                if first > end || end > all.len() {
                    return Err(Status::invalid_argument(format!(
                        "learning projection '{projection}': entries {first}..{end} of {var} are out of range: it has {}",
                        all.len()
                    )));
                }
                all.truncate(end);
                all.drain(..first);
                all
            }
        };
        Ok(Response::new(v1::StateValues { values }))
    }

    async fn get_learned(
        &self,
        request: Request<v1::GetLearnedRequest>,
    ) -> RpcResult<v1::LearnedState> {
        let projection = request.into_inner().projection;
        let state = self.board.learned(&projection).await?;
        Ok(Response::new(neurite_host::convert::learned_to_proto(
            &state,
        )))
    }

    async fn set_state(
        &self,
        request: Request<v1::SetStateRequest>,
    ) -> RpcResult<v1::SetStateResponse> {
        self.acquire(&client_of(&request), false)?;
        let request = request.into_inner();
        match target_from_proto(request.target)? {
            Addressed::Neurons(target) => self.board.set_state(&target, &request.values).await?,
            Addressed::Learning {
                projection,
                var,
                start,
                count,
            } => {
                let LearningVar::Synapse(var) = var else {
                    return Err(Status::invalid_argument(format!(
                        "learning projection '{projection}': {var} is read-only"
                    )));
                };
                if let Some(count) = count
                    && count as usize != request.values.len()
                {
                    return Err(Status::invalid_argument(format!(
                        "learning projection '{projection}': {} values for a range of {count} synapses",
                        request.values.len()
                    )));
                }
                self.board
                    .set_learned(&projection, var, start, &request.values)
                    .await?;
            }
        }
        Ok(Response::new(v1::SetStateResponse {}))
    }

    type StreamSpikesStream = ReplyStream<v1::OutputFrame>;

    async fn stream_spikes(
        &self,
        request: Request<Streaming<v1::InputFrame>>,
    ) -> RpcResult<Self::StreamSpikesStream> {
        let client = client_of(&request);
        let mut inbound = request.into_inner();
        let opening = inbound
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("the stream ended before its settings"))?;
        let config = config_from_proto(opening.config.clone().ok_or_else(|| {
            Status::invalid_argument("the first frame of a stream must carry its settings")
        })?)?;
        self.acquire(&client, true)?;
        let stream = match self.board.stream(config.clone()).await {
            Ok(stream) => stream,
            Err(e) => {
                self.end_streaming(&client);
                return Err(e.into());
            }
        };
        tracing::info!(client, mode = ?config.mode, steps = config.steps, "spike stream opened");
        let (mut sender, receiver) = stream.split();

        // Host → board: frames into the board's buffer, under its policy. A
        // bad frame ends the input with its error, which the board reports
        // after the steps of the frames before it.
        tokio::spawn(async move {
            let first = (opening.step != 0).then_some(opening);
            let mut next = first;
            loop {
                let frame = match next.take() {
                    Some(frame) => frame,
                    None => match inbound.message().await {
                        Ok(Some(frame)) => frame,
                        Ok(None) => break,
                        Err(status) => {
                            tracing::info!("spike stream input ended: {}", status.message());
                            break;
                        }
                    },
                };
                match input_from_proto(frame) {
                    Ok(frame) => {
                        // An error here means the board ended the stream.
                        if sender.send(frame).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        sender.fail(e);
                        return;
                    }
                }
            }
            sender.close();
        });

        // Board → host: every step's output frame, converted as tonic polls
        // for it. When the client goes away tonic drops this stream: the
        // board, finding no reader, pauses at its next step.
        let widths = self
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|p| {
                p.populations
                    .iter()
                    .map(|(name, width, _)| (name.clone(), *width))
                    .collect()
            })
            .unwrap_or_default();
        let outbound = OutputStream {
            receiver,
            widths,
            ended: false,
            _lease: StreamLease {
                service: self.clone(),
                client,
            },
        };
        Ok(Response::new(Box::pin(outbound)))
    }

    type ProbesStream = ReplyStream<v1::ProbeData>;

    async fn probes(&self, request: Request<v1::ProbesRequest>) -> RpcResult<Self::ProbesStream> {
        let specs = probe_specs_from_proto(request.into_inner().probes)?;
        let mut data = self.board.probes(&specs).await?;
        let (replies, outbound) = mpsc::channel(REPLY_BUFFER);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    record = data.recv() => match record {
                        Some(record) => {
                            if replies.send(Ok(probe_to_proto(&record))).await.is_err() {
                                break;
                            }
                        }
                        None => break,
                    },
                    () = replies.closed() => break,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(outbound))))
    }

    async fn get_energy(
        &self,
        request: Request<v1::GetEnergyRequest>,
    ) -> RpcResult<v1::EnergyReport> {
        let request = request.into_inner();
        let report = if request.include_steps {
            let max = match request.max_steps {
                0 => ENERGY_PAGE,
                n => (n as usize).min(ENERGY_PAGE),
            };
            self.board.energy_page(request.first_step, max).await?
        } else {
            self.board.energy(false).await?
        };
        Ok(Response::new(energy_to_wire(&report)))
    }

    async fn release(&self, request: Request<v1::ReleaseRequest>) -> RpcResult<v1::BoardStatus> {
        let client = client_of(&request);
        let holder = self.holder();
        if !holder.is_empty() && holder != client {
            return Err(Status::failed_precondition(format!(
                "client '{holder}' holds the lease, not '{client}'"
            )));
        }
        let streaming = self
            .lease()
            .holder
            .as_ref()
            .is_some_and(|h| h.streaming > 0);
        if streaming {
            // Releasing while streaming would leave a run without a host.
            self.board.pause().await?;
        }
        self.release_lease(&client);
        Ok(Response::new(board_status(self.board.release().await?)))
    }
}

/// Holds a streaming call's share of the lease until tonic drops the call.
struct StreamLease {
    service: BoardService,
    client: String,
}

impl Drop for StreamLease {
    fn drop(&mut self) {
        self.service.end_streaming(&self.client);
    }
}

/// The reply side of `StreamSpikes`.
struct OutputStream {
    receiver: SpikeReceiver,
    widths: HashMap<String, u32>,
    ended: bool,
    _lease: StreamLease,
}

impl Stream for OutputStream {
    type Item = Result<v1::OutputFrame, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match this.receiver.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(output_to_proto(&frame, |p| {
                this.widths.get(p).copied()
            })))),
            Poll::Ready(Some(Err(e))) => {
                this.ended = true;
                Poll::Ready(Some(Err(e.into())))
            }
        }
    }
}

fn board_status(status: neurite_host::Status) -> v1::BoardStatus {
    v1::BoardStatus {
        state: neurite_host::convert::state_to_proto(status.state) as i32,
        step: status.step,
    }
}

/// Checks the bearer token in constant time.
#[derive(Clone)]
struct TokenCheck {
    expected: Option<Arc<[u8]>>,
}

impl tonic::service::Interceptor for TokenCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else {
            return Ok(request);
        };
        let given = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("this board needs a bearer token"))?;
        let given = given.as_bytes();
        let given = given.strip_prefix(b"Bearer ").unwrap_or(b"");
        let mut difference = u8::from(given.len() != expected.len());
        for (a, b) in given.iter().zip(expected.iter()) {
            difference |= a ^ b;
        }
        if difference != 0 {
            return Err(Status::unauthenticated("wrong bearer token"));
        }
        Ok(request)
    }
}

/// Serves a board on `listener` until `shutdown` completes.
pub async fn serve(
    config: DaemonConfig,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let service = BoardService::new(config.clone());
    let board_handle = service.board.clone();
    let max = config.max_message_bytes;
    let check = TokenCheck {
        expected: config.token.as_deref().map(|t| Arc::from(t.as_bytes())),
    };
    let board = BoardServer::new(service)
        .max_decoding_message_size(max)
        .max_encoding_message_size(usize::MAX);
    let board = tonic::service::interceptor::InterceptedService::new(board, check);
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("neurite.v1.Board", tonic_health::ServingStatus::Serving)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(neurite_proto::FILE_DESCRIPTOR_SET)
        .build_v1();
    let mut router = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(health_service)
        .add_service(board);
    match reflection {
        Ok(reflection) => router = router.add_service(reflection),
        Err(e) => tracing::warn!("server reflection is off: {e}"),
    }
    // Open runs and streams end at a consistent step before the server
    // waits for its calls to finish.
    let stopping = async move {
        shutdown.await;
        if let Err(e) = board_handle.stop().await {
            tracing::warn!("stopping the board: {e}");
        }
    };
    // Small frames go out at once: without TCP_NODELAY a reply can wait
    // for the peer's delayed acknowledgement (tens of milliseconds).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    router
        .serve_with_incoming_shutdown(incoming, stopping)
        .await
}

/// A daemon running in the background of this process (tests, benchmarks,
/// `neurite serve`): its address, and a handle that stops it.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Running {
    /// The address as a URL for [`neurite_host::RemoteBoard::connect`].
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for open calls to finish.
    pub async fn shutdown(mut self) -> Result<(), tonic::transport::Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.await {
            Ok(result) => result,
            Err(_) => Ok(()),
        }
    }
}

/// Starts a daemon on `addr` (port 0 for any free port) in the background.
pub async fn spawn(config: DaemonConfig, addr: SocketAddr) -> std::io::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(config, listener, async {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
    })
}

/// Command-line settings of the daemon (`neurite-board` and `neurite serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,
    /// Chip profile: a built-in name (loihi2, loihi1, loihi1-sanafe) or a TOML file.
    #[arg(long, default_value = "loihi2")]
    pub chip: String,
    /// Bearer token clients must present (also read from NEURITE_BOARD_TOKEN).
    #[arg(long, env = "NEURITE_BOARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Largest message accepted, in bytes.
    #[arg(long, default_value_t = 8 << 20)]
    pub max_message_bytes: usize,
    /// Largest Program accepted, in bytes of its encoding.
    #[arg(long, default_value_t = 4 << 30)]
    pub max_program_bytes: u64,
    /// Seconds after which an idle lease may be taken by another client.
    #[arg(long, default_value_t = 60)]
    pub lease_timeout: u64,
    /// Step records of the energy model kept for GetEnergy, at least (0:
    /// all, which grows without bound on a board left running). Totals
    /// always cover every step.
    #[arg(long, default_value_t = DEFAULT_STEP_RECORDS)]
    pub step_records: usize,
}

/// Resolves when the process gets SIGINT or SIGTERM.
pub async fn termination() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn run_daemon(args: ServeArgs) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let chip = ChipProfile::from_name_or_file(&args.chip)
        .with_context(|| format!("loading chip profile '{}'", args.chip))?;
    let config = DaemonConfig {
        token: args.token.filter(|t| !t.is_empty()),
        max_message_bytes: args.max_message_bytes,
        max_program_bytes: args.max_program_bytes,
        lease_timeout: Duration::from_secs(args.lease_timeout),
        step_records: (args.step_records > 0).then_some(args.step_records),
        chip,
    };
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {}", args.addr))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(
        %addr,
        chip = config.chip.name,
        cores = config.chip.total_cores(),
        auth = config.token.is_some(),
        "neurite board serving"
    );
    // Scripts starting the daemon wait for this line.
    println!("neurite-board listening on {addr}");
    serve(config, listener, termination())
        .await
        .context("serving the board")?;
    tracing::info!("board stopped");
    Ok(())
}

/// Sends the daemon's logs to stderr, filtered by `RUST_LOG` (default: info).
pub fn init_logging() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
