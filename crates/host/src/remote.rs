//! [`RemoteBoard`]: a board daemon over gRPC, behind the [`Board`] trait.

use std::sync::atomic::{AtomicU64, Ordering};

use neurite_program::Program;
use neurite_proto::v1::board_client::BoardClient;
use neurite_proto::{CHUNK_BYTES, CLIENT_KEY, program_chunks, v1};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status as RpcStatus};

use crate::convert::{
    config_to_proto, energy_from_wire, info_from_proto, input_to_proto, loaded_from_proto,
    probe_from_proto, probe_specs_to_proto, run_status_from_proto, state_from_proto,
    target_to_proto,
};
use crate::{
    Board, BoardError, BoardInfo, EnergyReport, LoadedProgram, ProbeSpec, ProbeStream, RunHandle,
    RunLength, SpikeStream, StateTarget, Status, StreamConfig,
};

/// Largest message a host accepts from a board (energy reports of long
/// runs come in pages below this).
const MAX_RECEIVE_BYTES: usize = 64 << 20;
/// Input frames queued on the host before `send` waits for the network.
const SEND_BUFFER: usize = 64;

/// Adds the client's name and credentials to every call.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    client: MetadataValue<tonic::metadata::Ascii>,
    token: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl Interceptor for Credentials {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, RpcStatus> {
        request
            .metadata_mut()
            .insert(CLIENT_KEY, self.client.clone());
        if let Some(token) = &self.token {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

type Client = BoardClient<InterceptedService<Channel, Credentials>>;

/// A board reached over gRPC: `neurite-board`, or hardware whose daemon
/// speaks Neurite's protocol.
#[derive(Debug, Clone)]
pub struct RemoteBoard {
    client: Client,
    name: String,
}

/// A fresh client name: process and a counter, unique on this host.
fn fresh_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_string());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl RemoteBoard {
    /// Connects to a board at `url` (`http://HOST:PORT`), as a fresh client
    /// without a token.
    pub async fn connect(url: &str) -> Result<Self, BoardError> {
        Self::connect_with(url, None, None).await
    }

    /// Connects with a client name (the lease holder's name the board shows
    /// others) and a bearer token.
    pub async fn connect_with(
        url: &str,
        client: Option<&str>,
        token: Option<&str>,
    ) -> Result<Self, BoardError> {
        let name = client.map_or_else(fresh_name, str::to_string);
        let bad_metadata =
            |what: &str| BoardError::InvalidArgument(format!("the {what} is not printable ASCII"));
        let credentials = Credentials {
            client: name.parse().map_err(|_| bad_metadata("client name"))?,
            token: token
                .map(|t| format!("Bearer {t}").parse())
                .transpose()
                .map_err(|_| bad_metadata("token"))?,
        };
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| BoardError::InvalidArgument(format!("board address '{url}': {e}")))?
            .tcp_nodelay(true);
        let channel = endpoint.connect().await.map_err(|e| {
            BoardError::Unavailable(format!("cannot reach the board at {url}: {e}"))
        })?;
        let client = BoardClient::with_interceptor(channel, credentials)
            .max_decoding_message_size(MAX_RECEIVE_BYTES)
            .max_encoding_message_size(usize::MAX);
        Ok(Self { client, name })
    }

    /// The name this host goes by on the board.
    pub fn client_name(&self) -> &str {
        &self.name
    }

    /// Uploads a Program already encoded, in chunks of `chunk` bytes.
    pub async fn load_encoded(
        &self,
        bytes: &[u8],
        chunk: usize,
    ) -> Result<LoadedProgram, BoardError> {
        let chunks = program_chunks(bytes, chunk);
        self.load_chunks(chunks).await
    }

    /// Uploads chunks as given, checked by the board (for tests of its
    /// checks, and for hosts that cut their own).
    pub async fn load_chunks(
        &self,
        chunks: Vec<v1::ProgramChunk>,
    ) -> Result<LoadedProgram, BoardError> {
        let response = self
            .client
            .clone()
            .load_program(tokio_stream::iter(chunks))
            .await?;
        Ok(loaded_from_proto(response.into_inner()))
    }

    /// Status of a call answering with the board's state.
    fn status(status: v1::BoardStatus) -> Result<Status, BoardError> {
        Ok(Status {
            state: state_from_proto(status.state)?,
            step: status.step,
        })
    }
}

impl Board for RemoteBoard {
    async fn info(&self) -> Result<BoardInfo, BoardError> {
        let info = self.client.clone().get_info(v1::GetInfoRequest {}).await?;
        info_from_proto(info.into_inner())
    }

    async fn load(&self, program: &Program) -> Result<LoadedProgram, BoardError> {
        self.load_encoded(&program.encode(), CHUNK_BYTES).await
    }

    async fn run(&self, length: RunLength, progress_every: u64) -> Result<RunHandle, BoardError> {
        let request = v1::RunRequest {
            length: Some(match length {
                RunLength::Steps(n) => v1::run_request::Length::Steps(n),
                RunLength::Continuous => v1::run_request::Length::Continuous(true),
            }),
            progress_every,
        };
        let mut statuses = self.client.clone().run(request).await?.into_inner();
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(status) = statuses.next().await {
                let converted = status
                    .map_err(BoardError::from)
                    .and_then(run_status_from_proto)
                    .unwrap_or_else(|e| crate::RunStatus::Error(e.to_string()));
                if sender.send(converted).is_err() {
                    break;
                }
            }
        });
        Ok(RunHandle { statuses: receiver })
    }

    async fn pause(&self) -> Result<Status, BoardError> {
        let status = self.client.clone().pause(v1::PauseRequest {}).await?;
        Self::status(status.into_inner())
    }

    async fn stop(&self) -> Result<Status, BoardError> {
        let status = self.client.clone().stop(v1::StopRequest {}).await?;
        Self::status(status.into_inner())
    }

    async fn reset(&self) -> Result<Status, BoardError> {
        let status = self.client.clone().reset(v1::ResetRequest {}).await?;
        Self::status(status.into_inner())
    }

    async fn get_state(&self, target: &StateTarget) -> Result<Vec<i32>, BoardError> {
        let values = self
            .client
            .clone()
            .get_state(v1::GetStateRequest {
                target: Some(target_to_proto(target)),
            })
            .await?;
        Ok(values.into_inner().values)
    }

    async fn learned(&self, projection: &str) -> Result<crate::LearnedState, BoardError> {
        let state = self
            .client
            .clone()
            .get_learned(v1::GetLearnedRequest {
                projection: projection.to_string(),
            })
            .await?;
        crate::convert::learned_from_proto(state.into_inner())
    }

    async fn set_state(&self, target: &StateTarget, values: &[i32]) -> Result<(), BoardError> {
        self.client
            .clone()
            .set_state(v1::SetStateRequest {
                target: Some(target_to_proto(target)),
                values: values.to_vec(),
            })
            .await?;
        Ok(())
    }

    async fn set_learned(
        &self,
        projection: &str,
        var: crate::SynapseVar,
        start: u32,
        values: &[i32],
    ) -> Result<(), BoardError> {
        let target = crate::convert::learning_target_to_proto(
            projection,
            crate::LearningVar::Synapse(var),
            start,
            Some(values.len() as u32),
        );
        self.client
            .clone()
            .set_state(v1::SetStateRequest {
                target: Some(target),
                values: values.to_vec(),
            })
            .await?;
        Ok(())
    }

    async fn stream(&self, config: StreamConfig) -> Result<SpikeStream, BoardError> {
        let (inputs, frames) = mpsc::channel(SEND_BUFFER);
        // The first message carries the settings and no spikes (step 0).
        let opening = v1::InputFrame {
            config: Some(config_to_proto(&config)),
            ..Default::default()
        };
        let requests = tokio_stream::once(opening)
            .chain(ReceiverStream::new(frames).map(|frame| input_to_proto(&frame)));
        let responses = self
            .client
            .clone()
            .stream_spikes(requests)
            .await?
            .into_inner();
        // The board applies its buffer policy; the host's queue only waits.
        Ok(SpikeStream::remote(inputs, responses))
    }

    async fn probes(&self, specs: &[ProbeSpec]) -> Result<ProbeStream, BoardError> {
        let mut data = self
            .client
            .clone()
            .probes(v1::ProbesRequest {
                probes: probe_specs_to_proto(specs),
            })
            .await?
            .into_inner();
        let (sender, receiver) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(Ok(record)) = data.next().await {
                let Ok(record) = probe_from_proto(record) else {
                    break;
                };
                if sender.send(record).await.is_err() {
                    break;
                }
            }
        });
        Ok(ProbeStream::new(receiver))
    }

    async fn energy(&self, include_steps: bool) -> Result<EnergyReport, BoardError> {
        let client = self.client.clone();
        let ask = |first_step: u64| {
            let request = v1::GetEnergyRequest {
                include_steps,
                first_step,
                max_steps: 0,
            };
            let mut client = client.clone();
            async move { client.get_energy(request).await }
        };
        let mut report = energy_from_wire(ask(0).await?.into_inner());
        if include_steps {
            // Step records of long runs come in pages.
            while (report.steps.len() as u64) < report.total.steps {
                let Some(last) = report.steps.last().map(|s| s.step) else {
                    break;
                };
                let page = energy_from_wire(ask(last + 1).await?.into_inner());
                if page.steps.is_empty() {
                    break;
                }
                report.steps.extend(page.steps);
            }
        }
        Ok(report)
    }

    async fn release(&self) -> Result<Status, BoardError> {
        let status = self.client.clone().release(v1::ReleaseRequest {}).await?;
        Self::status(status.into_inner())
    }
}
