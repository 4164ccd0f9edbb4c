-- wrk: submit referrals over the API as one agency's system; prints the figures as JSON.
local token = os.getenv("BENCH_TOKEN")
local counter = 0

request = function()
  counter = counter + 1
  local body = string.format(
    '{"child": {"first_name": "Load", "last_name": "Test%d", "date_of_birth": "2015-01-01"},'
    .. ' "urgency": "standard", "reason": "Load test.", "desired_outcome": "Assessment.",'
    .. ' "consent": "given", "parents_aware": "yes", "referrer_name": "Bench",'
    .. ' "referrer_phone": "01632 960000", "referrer_email": "bench@bench.invalid"}', counter)
  return wrk.format("POST", "/api/v1/referrals/", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '\nBENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d,'
    .. ' "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
