//! Retry pacing and circuit breaking shared by every instance through Redis (`REDIS_URL`):
//! a per-consumer retry rate (`WEBHOOK_RETRY_RPS` per second) and one circuit per consumer,
//! keyed by the SHA-256 of its URL, with a single half-open probe across instances.
//!
//! Each decision is one Lua script, so instances never race on a read-then-write, and the
//! time is Redis's own (`TIME`), so instances' clocks do not matter. Every call has a time
//! limit; when Redis does not answer, the instance falls back to its own breaker and rate
//! (a delivery is never lost or held because Redis is away).

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::sync::Mutex;

use crate::util::sha256_hex;

/// How long one Redis call may take.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);
/// How long circuit state outlives its last change.
const STATE_TTL_MS: u64 = 86_400_000;

/// The breaker: ARGV = op (`admit` | `success` | `failure`), threshold, cooldown ms, state
/// TTL ms, instance id. Answers { allowed (0/1), wait ms, from, to }.
const BREAKER_SCRIPT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local op, threshold, cooldown, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local function keep() redis.call('PEXPIRE', KEYS[1], ttl) end
if op == 'admit' then
  if state == 'closed' then return {1, 0, state, state} end
  local reopen = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
  if state == 'open' and now < reopen then return {0, reopen - now, state, state} end
  if redis.call('SET', KEYS[2], ARGV[5], 'NX', 'PX', cooldown) then
    redis.call('HSET', KEYS[1], 'state', 'half_open')
    keep()
    return {1, 0, state, 'half_open'}
  end
  return {0, math.min(cooldown, 1000), state, state}
elseif op == 'success' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
  keep()
  return {1, 0, state, 'closed'}
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if state == 'half_open' or (state == 'closed' and failures >= threshold) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'until', now + cooldown, 'failures', 0)
  redis.call('DEL', KEYS[2])
  keep()
  return {1, 0, state, 'open'}
end
keep()
return {1, 0, state, state}
";

/// The retry rate: ARGV = retries per second. Answers the ms to wait (0: go now).
const RATE_SCRIPT: &str = r"
local time = redis.call('TIME')
local second = tonumber(time[1])
local key = KEYS[1] .. ':' .. second
local used = redis.call('INCR', key)
if used == 1 then redis.call('PEXPIRE', key, 2000) end
if used <= tonumber(ARGV[1]) then return 0 end
return 1000 - math.floor(tonumber(time[2]) / 1000)
";

/// A breaker decision, and the transition it made, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The attempt may go.
    pub allowed: bool,
    /// How long to wait otherwise.
    pub wait: Duration,
    /// `(from, to)` when the circuit changed state.
    pub transition: Option<(String, String)>,
}

/// The Redis-backed breaker and retry rate.
pub struct SharedResilience {
    client: redis::Client,
    connection: Mutex<Option<MultiplexedConnection>>,
    breaker: redis::Script,
    rate: redis::Script,
    instance: String,
    threshold: u32,
    cooldown: Duration,
    retry_rps: u32,
}

impl core::fmt::Debug for SharedResilience {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedResilience")
            .field("instance", &self.instance)
            .field("retry_rps", &self.retry_rps)
            .finish_non_exhaustive()
    }
}

/// The key of a consumer: the SHA-256 of its URL (no URL in Redis).
pub fn consumer_key(url: &str) -> String {
    format!("fluxora:consumer:{}", sha256_hex(url.as_bytes()))
}

impl SharedResilience {
    /// Over the Redis at `url` (not connected until first used).
    pub fn new(
        url: &str,
        threshold: u32,
        cooldown: Duration,
        retry_rps: u32,
    ) -> Result<Self, String> {
        let client =
            redis::Client::open(url).map_err(|_| "REDIS_URL is not a Redis URL".to_owned())?;
        Ok(Self {
            client,
            connection: Mutex::new(None),
            breaker: redis::Script::new(BREAKER_SCRIPT),
            rate: redis::Script::new(RATE_SCRIPT),
            instance: crate::util::random_hex(8),
            threshold: threshold.max(1),
            cooldown,
            retry_rps: retry_rps.max(1),
        })
    }

    async fn connection(&self) -> Result<MultiplexedConnection, String> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connected =
            tokio::time::timeout(CALL_TIMEOUT, self.client.get_multiplexed_async_connection())
                .await
                .map_err(|_| "connecting to Redis timed out".to_owned())?
                .map_err(|err| format!("cannot connect to Redis: {err}"))?;
        *slot = Some(connected.clone());
        Ok(connected)
    }

    async fn forget_connection(&self) {
        *self.connection.lock().await = None;
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, String> {
        let mut connection = self.connection().await?;
        let result = tokio::time::timeout(CALL_TIMEOUT, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| "Redis did not answer in time".to_owned())
            .and_then(|r| r.map_err(|err| format!("Redis: {err}")));
        if result.is_err() {
            self.forget_connection().await;
        }
        result
    }

    /// The breaker's answer for `op` on `url`'s circuit.
    pub async fn breaker(&self, op: &str, url: &str) -> Result<Decision, String> {
        let key = consumer_key(url);
        let mut invocation = self.breaker.prepare_invoke();
        invocation
            .key(format!("{key}:circuit"))
            .key(format!("{key}:probe"))
            .arg(op)
            .arg(self.threshold)
            .arg(u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX))
            .arg(STATE_TTL_MS)
            .arg(&self.instance);
        let (allowed, wait, from, to): (i64, i64, String, String) = self.invoke(invocation).await?;
        Ok(Decision {
            allowed: allowed == 1,
            wait: Duration::from_millis(u64::try_from(wait).unwrap_or(0)),
            transition: (from != to).then_some((from, to)),
        })
    }

    /// How long a retry to `url` must wait for the shared rate (zero: go now).
    pub async fn retry_wait(&self, url: &str) -> Result<Duration, String> {
        let mut invocation = self.rate.prepare_invoke();
        invocation
            .key(format!("{}:retries", consumer_key(url)))
            .arg(self.retry_rps);
        let wait: i64 = self.invoke(invocation).await?;
        Ok(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
    }

    /// Whether Redis answers `PING` within the call time limit.
    pub async fn ping(&self) -> bool {
        let Ok(mut connection) = self.connection().await else {
            return false;
        };
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        let answered = matches!(tokio::time::timeout(CALL_TIMEOUT, ping).await, Ok(Ok(_)));
        if !answered {
            self.forget_connection().await;
        }
        answered
    }

    /// The shared state of `url`'s circuit (`closed` when Redis has none).
    pub async fn state(&self, url: &str) -> Result<String, String> {
        let mut connection = self.connection().await?;
        let key = format!("{}:circuit", consumer_key(url));
        let mut command = redis::cmd("HGET");
        command.arg(key).arg("state");
        let read = command.query_async::<Option<String>>(&mut connection);
        let state = tokio::time::timeout(CALL_TIMEOUT, read)
            .await
            .map_err(|_| "Redis did not answer in time".to_owned())?
            .map_err(|err| format!("Redis: {err}"))?;
        Ok(state.unwrap_or_else(|| "closed".to_owned()))
    }
}
