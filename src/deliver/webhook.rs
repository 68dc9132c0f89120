//! The generic `webhook` sink: POST the CONTRACT §4 JSON with an `Idempotency-Key` header and,
//! with a `secret`, Standard Webhooks signature headers.

use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};

use super::{classify_status, sign, Outcome};
use crate::model::OutboxAlert;

/// A configured webhook endpoint.
#[derive(Debug, Clone)]
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    secret: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

impl Webhook {
    /// An endpoint at `url`, signing with `secret` (`whsec_`+base64, or used as raw bytes).
    pub fn new(client: reqwest::Client, url: String, secret: Option<String>, headers: Vec<(String, String)>) -> Self {
        Webhook { client, url, secret: secret.as_deref().map(sign::secret_key), headers }
    }

    /// POST one alert: its CONTRACT §4 payload, or `body` (the sink template's output) instead.
    pub async fn send(&self, alert: &OutboxAlert, body: Option<String>) -> Outcome {
        let body = body.unwrap_or_else(|| alert.payload.clone());
        let mut req = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", &alert.id)
            .timeout(std::time::Duration::from_secs(30));
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                req = req.header(k, v);
            }
        }
        if let Some(key) = &self.secret {
            let ts = chrono::Utc::now().timestamp();
            req = req
                .header("webhook-id", &alert.id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sign::signature(key, &alert.id, ts, body.as_bytes()));
        }
        let resp = match req.body(body).send().await {
            Ok(r) => r,
            // Sending failed before a status arrived: the receiver may or may not have the
            // alert, so retry with the same idempotency key.
            Err(e) => return Outcome::Retry { after: None, error: crate::fetch::error_chain(&e) },
        };
        let status = resp.status().as_u16();
        let retry_after = crate::fetch::retry_after(resp.headers());
        let body = resp.text().await.unwrap_or_default();
        classify_status(status, retry_after, &body)
    }
}
