// Validates a HAR file against the HAR 1.2 schema with har-validator (exit 1 with the errors).
const fs = require("fs");
const validate = require("har-validator");

const har = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
validate
  .har(har)
  .then(() => console.log(`valid HAR ${har.log.version}: ${har.log.entries.length} entries`))
  .catch((e) => {
    console.error(JSON.stringify(e.errors || e.message, null, 2));
    process.exit(1);
  });
