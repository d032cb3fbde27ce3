-- wrk script: POST the file named by env VALIDATE_BODY to /fhir/<VALIDATE_PATH> with the
-- Content-Type in env VALIDATE_TYPE (application/fhir+json unless set).
local f = assert(io.open(os.getenv("VALIDATE_BODY"), "rb"))
local body = f:read("*a")
f:close()
local path = "/fhir/" .. os.getenv("VALIDATE_PATH")
local headers = {["Content-Type"] = os.getenv("VALIDATE_TYPE") or "application/fhir+json"}
request = function()
  return wrk.format("POST", path, headers, body)
end
