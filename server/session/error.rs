//! Why a session request is refused. Every text is written for the person who sees it.
use crate::sandbox::SandboxError;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no session has this code; check it with your facilitator")]
    NotFound,
    #[error("this session has ended")]
    Ended,
    #[error("the server already runs its maximum of {max} sessions; end one or try again later")]
    TooManySessions { max: usize },
    #[error("this session is full ({max} learners); ask the facilitator")]
    RoomFull { max: usize },
    #[error("sign in again: this link or token is not valid for this session")]
    Unauthorized,
    #[error("only the facilitator can do this")]
    Forbidden,
    #[error("{0}")]
    BadRequest(String),
    #[error("no exercise called {0:?}")]
    UnknownExercise(String),
    #[error("{0}")]
    Sandbox(#[from] SandboxError),
    #[error("the session store is not available: {0}")]
    Store(String),
}
