-- wrk script: GET /fhir/<path> for paths read from the file named by env READ_PATHS, in
-- random order (seeded, so runs are comparable).
local paths = {}
for line in io.lines(os.getenv("READ_PATHS")) do
  paths[#paths + 1] = line
end
math.randomseed(42)
request = function()
  return wrk.format("GET", "/fhir/" .. paths[math.random(#paths)])
end
