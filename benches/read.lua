-- wrk script: GET /fhir/<path> for paths read from the file named by env READ_PATHS, in
-- random order (seeded, so runs are comparable). With env READ_AUTHORIZATION, every request
-- carries that Authorization header (a bearer token).
local paths = {}
for line in io.lines(os.getenv("READ_PATHS")) do
  paths[#paths + 1] = line
end
local headers = {}
local authorization = os.getenv("READ_AUTHORIZATION")
if authorization and authorization ~= "" then
  headers["Authorization"] = authorization
end
math.randomseed(42)
request = function()
  return wrk.format("GET", "/fhir/" .. paths[math.random(#paths)], headers)
end
