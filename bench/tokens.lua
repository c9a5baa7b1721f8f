-- wrk script: every request carries the next of many distinct ALB tokens, as a real ALB mints a
-- fresh x-amzn-oidc-data for each request; so the server's verification cache rarely helps.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/v1/secrets", { ["x-amzn-oidc-data"] = tokens[i] })
end
