//! Handshake state machines for both ends of a connection.
//!
//! They hold the rules of section 3 of `docs/protocol.md` so that the
//! modules do not re-implement them: the server accepts only `Hello`, then
//! only `Auth`, and reaches [`ServerHandshake::is_ready`] only after the
//! client proved the key; any deviation ends in a step that says "close".
//! After the handshake, [`Negotiated::allows`] tells whether an opcode may
//! be used (otherwise answer `EOPNOTSUPP`).

use super::errno::Errno;
use super::frame::{decode_handshake, HandshakeMessage};
use super::handshake::{Capabilities, ClientAuth, Hello, ServerHello, NONCE_LEN};
use super::header::FrameHeader;
use super::opcode::Opcode;

/// What both sides agreed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Protocol version in use.
    pub version: u16,
    /// Capabilities in use.
    pub capabilities: Capabilities,
}

impl Negotiated {
    /// Whether `opcode` may be sent on this connection.
    pub fn allows(&self, opcode: Opcode) -> bool {
        self.capabilities.contains(opcode.required_capability())
    }
}

/// What the server does after a handshake frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerStep {
    /// Send this reply and wait for the next frame.
    Reply(HandshakeMessage),
    /// Send this reply (`AuthOk`); the connection is authenticated.
    Accept(HandshakeMessage, Negotiated),
    /// Send this reply if any, then close the connection.
    Close(Option<HandshakeMessage>),
}

#[derive(Clone, Copy, Debug)]
enum ServerPhase {
    AwaitHello,
    AwaitAuth { hello: Hello, answer: ServerHello },
    Ready(Negotiated),
    Closed,
}

/// Server side of the handshake.
#[derive(Clone, Copy, Debug)]
pub struct ServerHandshake {
    capabilities: Capabilities,
    nonce: [u8; NONCE_LEN],
    phase: ServerPhase,
}

impl ServerHandshake {
    /// A new connection; `nonce` must be fresh random bytes.
    pub fn new(capabilities: Capabilities, nonce: [u8; NONCE_LEN]) -> Self {
        ServerHandshake {
            capabilities,
            nonce,
            phase: ServerPhase::AwaitHello,
        }
    }

    /// The agreement, once the client is authenticated.
    pub fn negotiated(&self) -> Option<Negotiated> {
        match self.phase {
            ServerPhase::Ready(n) => Some(n),
            _ => None,
        }
    }

    /// Whether file operations may be accepted.
    pub fn is_ready(&self) -> bool {
        self.negotiated().is_some()
    }

    /// Handles one frame received before the connection is ready.
    pub fn on_frame(&mut self, key: &[u8], header: &FrameHeader, body: &[u8]) -> ServerStep {
        let message = decode_handshake(header, body);
        let (step, next) = match (self.phase, message) {
            (ServerPhase::AwaitHello, Ok(HandshakeMessage::Hello(hello))) => {
                match ServerHello::answer(key, &hello, self.capabilities, self.nonce) {
                    Ok(answer) => (
                        ServerStep::Reply(HandshakeMessage::ServerHello(answer)),
                        ServerPhase::AwaitAuth { hello, answer },
                    ),
                    Err(errno) => (
                        ServerStep::Close(Some(HandshakeMessage::Refused(Opcode::Hello, errno))),
                        ServerPhase::Closed,
                    ),
                }
            }
            (ServerPhase::AwaitAuth { hello, answer }, Ok(HandshakeMessage::ClientAuth(auth))) => {
                if auth.verify(key, &hello, &answer) {
                    let negotiated = Negotiated {
                        version: answer.version,
                        capabilities: answer.capabilities,
                    };
                    (
                        ServerStep::Accept(HandshakeMessage::AuthOk, negotiated),
                        ServerPhase::Ready(negotiated),
                    )
                } else {
                    (
                        ServerStep::Close(Some(HandshakeMessage::Refused(
                            Opcode::Auth,
                            Errno::EACCES,
                        ))),
                        ServerPhase::Closed,
                    )
                }
            }
            // Anything else, in any phase: drop without an answer.
            _ => (ServerStep::Close(None), ServerPhase::Closed),
        };
        self.phase = next;
        step
    }
}

#[derive(Clone, Copy, Debug)]
enum ClientPhase {
    AwaitServerHello,
    AwaitAuthOk(Negotiated),
    Ready(Negotiated),
    Closed,
}

/// Client side of the handshake.
#[derive(Clone, Copy, Debug)]
pub struct ClientHandshake {
    hello: Hello,
    phase: ClientPhase,
}

impl ClientHandshake {
    /// A new connection offering `capabilities`; `nonce` must be fresh
    /// random bytes.
    pub fn new(capabilities: Capabilities, nonce: [u8; NONCE_LEN]) -> Self {
        ClientHandshake {
            hello: Hello::new(capabilities, nonce),
            phase: ClientPhase::AwaitServerHello,
        }
    }

    /// The first frame to send.
    pub fn hello(&self) -> HandshakeMessage {
        HandshakeMessage::Hello(self.hello)
    }

    /// The agreement, once the server accepted the client.
    pub fn negotiated(&self) -> Option<Negotiated> {
        match self.phase {
            ClientPhase::Ready(n) => Some(n),
            _ => None,
        }
    }

    /// Handles the answer to `Hello`: returns the `ClientAuth` to send, or
    /// the reason to close.
    pub fn on_server_hello(
        &mut self,
        key: &[u8],
        header: &FrameHeader,
        body: &[u8],
    ) -> Result<HandshakeMessage, Errno> {
        let result = match (self.phase, decode_handshake(header, body)) {
            (ClientPhase::AwaitServerHello, Ok(HandshakeMessage::ServerHello(answer))) => {
                answer.verify(key, &self.hello).map(|auth: ClientAuth| {
                    let negotiated = Negotiated {
                        version: answer.version,
                        capabilities: answer.capabilities,
                    };
                    (HandshakeMessage::ClientAuth(auth), negotiated)
                })
            }
            (_, Ok(HandshakeMessage::Refused(_, errno))) => Err(errno),
            _ => Err(Errno::EPROTO),
        };
        match result {
            Ok((message, negotiated)) => {
                self.phase = ClientPhase::AwaitAuthOk(negotiated);
                Ok(message)
            }
            Err(errno) => {
                self.phase = ClientPhase::Closed;
                Err(errno)
            }
        }
    }

    /// Handles the answer to `Auth`: the agreement, or the reason to close.
    pub fn on_auth_reply(
        &mut self,
        header: &FrameHeader,
        body: &[u8],
    ) -> Result<Negotiated, Errno> {
        let result = match (self.phase, decode_handshake(header, body)) {
            (ClientPhase::AwaitAuthOk(n), Ok(HandshakeMessage::AuthOk)) => Ok(n),
            (_, Ok(HandshakeMessage::Refused(_, errno))) => Err(errno),
            _ => Err(Errno::EPROTO),
        };
        self.phase = match result {
            Ok(n) => ClientPhase::Ready(n),
            Err(_) => ClientPhase::Closed,
        };
        result
    }
}
