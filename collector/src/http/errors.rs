//! JSON errors: every failure the HTTP layer reports is `{"error_code", "code", "message"}`
//! with the right status, never an HTML page.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::params::ParamError;
use crate::service::conversions::ConversionError;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable number for programs.
    pub error_code: u16,
    /// Stable slug for people and programs.
    pub code: &'static str,
    pub message: String,
    /// The parameter at fault, when there is one (`events[1].payout` for nested JSON).
    pub field: Option<Cow<'static, str>>,
}

impl ApiError {
    pub fn new(status: StatusCode, error_code: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, error_code, code, message: message.into(), field: None }
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 1040, "not_found", what)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            1010,
            "unauthorized",
            "send the admin token as 'Authorization: Bearer <token>'",
        )
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, 1050, "method_not_allowed", "this method is not allowed here")
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            1051,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }
}

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> ApiError {
        let (error_code, code) = match &e {
            ParamError::Missing(_) => (1001, "missing_parameter"),
            ParamError::NotAnInteger(_) | ParamError::Invalid { .. } => (1002, "invalid_parameter"),
            ParamError::InvalidEncoding => (1003, "invalid_encoding"),
            ParamError::TooLong { .. } => (1004, "parameter_too_long"),
            ParamError::Amount(_) => (1005, "invalid_amount"),
            ParamError::Conflicting(_) => (1009, "conflicting_parameter"),
        };
        ApiError {
            field: e.field().map(Cow::Borrowed),
            ..ApiError::new(StatusCode::BAD_REQUEST, error_code, code, e.to_string())
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        // The detail goes to the log; the client learns only that nothing was recorded.
        tracing::error!(error = %e, "store failure");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            1099,
            "storage_unavailable",
            "the store cannot record this request right now; nothing was recorded, retry later",
        )
    }
}

impl From<ConversionError> for ApiError {
    fn from(e: ConversionError) -> ApiError {
        match e {
            ConversionError::NoScope => {
                ApiError::new(StatusCode::BAD_REQUEST, 1006, "missing_parameter", e.to_string())
            }
            ConversionError::Store(s) => s.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = serde_json::json!({
            "error_code": self.error_code,
            "code": self.code,
            "message": self.message,
        });
        if let Some(field) = &self.field {
            body["field"] = field.as_ref().into();
        }
        HttpResponse::build(self.status).insert_header(("Cache-Control", "no-store")).json(body)
    }
}
