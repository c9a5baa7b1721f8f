//! StartLiveTail on the stand-in: a session fed with what PutLogEvents stores.

use serde_json::{Map, Value};

use super::Logs;
use super::fields::*;
use crate::aws::ApiError;
use crate::aws::filter::Pattern;
use crate::aws::tail::{Feed, Session};

impl Logs {
    /// A Live Tail session for the request, and the events it will see from now on.
    pub fn start_live_tail(&self, req: &Map<String, Value>) -> Result<(Session, Feed), ApiError> {
        let strings = |name: &str| -> Result<Option<Vec<String>>, ApiError> {
            req.get(name)
                .map(|v| {
                    v.as_array()
                        .and_then(|a| {
                            a.iter()
                                .map(|x| x.as_str().map(str::to_owned))
                                .collect::<Option<Vec<_>>>()
                        })
                        .ok_or_else(|| param(format!("{name} must be a list of strings")))
                })
                .transpose()
        };
        let ids = strings("logGroupIdentifiers")?.unwrap_or_default();
        if ids.is_empty() || ids.len() > 10 {
            return Err(param(
                "1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have length between 1 and 10",
            ));
        }
        let arn_prefix = format!("arn:aws:logs:{}:{}:log-group:", self.region, self.account);
        let mut groups = Vec::with_capacity(ids.len());
        {
            let stored = self.groups.read().map_err(|_| ApiError::internal())?;
            for id in &ids {
                if id.ends_with('*') {
                    return Err(param(format!(
                        "Log group identifier {id} must not end with an asterisk"
                    )));
                }
                let name = id.strip_prefix(&arn_prefix).ok_or_else(|| {
                    param(format!(
                        "Log group identifier {id} must be the ARN of a log group in {} of account {}",
                        self.region, self.account
                    ))
                })?;
                if !stored.contains_key(name) {
                    return Err(ApiError::new(
                        "ResourceNotFoundException",
                        format!("Log group {id} does not exist"),
                    ));
                }
                groups.push((name.to_owned(), id.clone()));
            }
        }
        let stream_names = strings("logStreamNames")?;
        let stream_prefixes = strings("logStreamNamePrefixes")?;
        if stream_names.is_some() && stream_prefixes.is_some() {
            return Err(param(
                "logStreamNames and logStreamNamePrefixes are mutually exclusive",
            ));
        }
        if (stream_names.is_some() || stream_prefixes.is_some()) && groups.len() != 1 {
            return Err(param(
                "logStreamNames or logStreamNamePrefixes can be given only with exactly one log group",
            ));
        }
        let pattern_text = str_field(req, "logEventFilterPattern").map(str::to_owned);
        let pattern = Pattern::parse(pattern_text.as_deref().unwrap_or(""))?;
        Ok((
            Session {
                groups,
                stream_names,
                stream_prefixes,
                pattern_text,
                pattern,
                request_id: crate::state::uuid(),
                session_id: crate::state::uuid(),
            },
            Feed {
                ingested: self.tail.subscribe(),
                ending: self.ending.subscribe(),
            },
        ))
    }

    /// Ends every open Live Tail session (the lab is stopping).
    pub fn end_live_tails(&self) {
        self.ending.send_replace(true);
    }
}
