//! The core's errors as C statuses: each maps a `bague` error to a `bague_status` and the
//! message `bague_last_error` returns. One place, used by every entry point.

use crate::status::Error;
use bague::bundle::PromptError;
use bague::constraint::ConstraintError;
use bague::generate::Error as GenError;
use bague::model::Error as ModelError;
use bague::sampler::SamplerError;

use crate::status::bague_status::*;

/// Status and message of a load error.
pub(crate) fn bundle_error(e: bague::bundle::Error) -> Error {
    use bague::bundle::Error as E;
    match e {
        E::Gguf(e) => Error::with(BAGUE_ERR_BAD_MODEL, "GGUF", e),
        E::Tokenizer(e) => tokenizer_error(e),
        E::Model(e) => model_error(e),
        E::Kernels(e) => Error::with(BAGUE_ERR_INVALID_ARGUMENT, "environment", e),
    }
}

/// Status and message of a model error.
pub(crate) fn model_error(e: bague::model::Error) -> Error {
    use bague::model::Error as E;
    let status = match e {
        E::UnknownArch(_) | E::UnsupportedRopeScaling(_) | E::UnsupportedTensorType { .. } => {
            BAGUE_ERR_UNSUPPORTED
        }
        E::Gguf(_) | E::BadHyperparameter { .. } | E::MissingTensor(_) | E::TensorShape { .. } => {
            BAGUE_ERR_BAD_MODEL
        }
        E::ContextFull { .. } => BAGUE_ERR_CONTEXT_FULL,
        E::OutOfMemory { .. } | E::OverBudget { .. } => BAGUE_ERR_OUT_OF_MEMORY,
        E::TokenOutOfRange { .. } | E::EmptyInput | E::BadOption { .. } => {
            BAGUE_ERR_INVALID_ARGUMENT
        }
        E::Threads(bague::parallel::PoolError::ZeroThreads) => BAGUE_ERR_INVALID_ARGUMENT,
        E::Threads(_) => BAGUE_ERR_IO,
        E::Gpu(bague::model::GpuFault::Allocation { .. }) => BAGUE_ERR_OUT_OF_MEMORY,
        E::Gpu(bague::model::GpuFault::DeviceLost | bague::model::GpuFault::Readback) => {
            BAGUE_ERR_IO
        }
        _ => BAGUE_ERR_INTERNAL,
    };
    Error::with(status, "model", e)
}

/// Status and message of a tokenizer error.
pub(crate) fn tokenizer_error(e: bague::tokenizer::Error) -> Error {
    use bague::tokenizer::Error as E;
    let status = match e {
        E::UnsupportedModel(_) | E::UnknownPreTokenizer(_) => BAGUE_ERR_UNSUPPORTED,
        E::InvalidToken { .. } => BAGUE_ERR_INVALID_ARGUMENT,
        _ => BAGUE_ERR_BAD_MODEL,
    };
    Error::with(status, "tokenizer", e)
}

pub(crate) fn sampler_error(e: SamplerError) -> Error {
    match e {
        SamplerError::OutOfMemory { .. } => {
            Error::with(BAGUE_ERR_OUT_OF_MEMORY, "generation parameters", e)
        }
        SamplerError::BadConfig { .. } => {
            Error::with(BAGUE_ERR_INVALID_ARGUMENT, "generation parameters", e)
        }
        // NaN or -inf everywhere: the model's numbers are broken, not bague.
        SamplerError::AllMasked => Error::new(
            BAGUE_ERR_BAD_MODEL,
            "the model produced no finite logit (NaN or -inf everywhere): its weights are broken",
        ),
        e => Error::with(BAGUE_ERR_INTERNAL, "sampler", e),
    }
}

/// Status and message of a chat prompt error.
pub(crate) fn prompt_error(e: PromptError) -> Error {
    match e {
        PromptError::Template(e) => Error::with(BAGUE_ERR_TEMPLATE, "chat template", e),
        PromptError::Tokenizer(e) => tokenizer_error(e),
    }
}

/// Status and message of a generation error.
pub(crate) fn generate_error(e: GenError) -> Error {
    match e {
        GenError::Model(ModelError::EmptyInput) => Error::invalid("the prompt has no tokens"),
        GenError::Model(ModelError::ContextFull {
            n_ctx, n_tokens, ..
        }) => Error::new(
            BAGUE_ERR_CONTEXT_FULL,
            format!("the prompt has {n_tokens} tokens, the context holds {n_ctx}"),
        ),
        GenError::Model(e) => model_error(e),
        GenError::Tokenizer(e) => tokenizer_error(e),
        GenError::Sampler(e) => sampler_error(e),
        GenError::Constraint(ConstraintError::TooComplex) => {
            Error::with(BAGUE_ERR_UNSUPPORTED, "generation", e)
        }
        GenError::Constraint(ConstraintError::OutOfMemory { .. }) => {
            Error::with(BAGUE_ERR_OUT_OF_MEMORY, "generation", e)
        }
        e => Error::with(BAGUE_ERR_INTERNAL, "generation", e),
    }
}

/// Status and message of a GPU backend error (opening the adapter, uploading the weights,
/// making the session; feature `gpu`).
#[cfg(feature = "gpu")]
pub(crate) fn gpu_error(e: bague::session::gpu::GpuError) -> Error {
    use bague::session::gpu::GpuError as E;
    let status = match e {
        E::NoAdapter { .. }
        | E::AdapterNotFound { .. }
        | E::RequestDevice { .. }
        | E::UnsupportedType { .. }
        | E::UnsupportedShape { .. }
        | E::TensorTooLarge { .. } => BAGUE_ERR_UNSUPPORTED,
        E::Allocation { .. } => BAGUE_ERR_OUT_OF_MEMORY,
        E::DeviceLost(_) | E::Readback(_) => BAGUE_ERR_IO,
        E::Invalid(_) => BAGUE_ERR_INVALID_ARGUMENT,
        E::TensorSize { .. } => BAGUE_ERR_BAD_MODEL,
    };
    Error::with(status, "GPU backend", e)
}
