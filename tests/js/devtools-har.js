// Opens a HAR file with Chromium's own DevTools: the front end's HAR importer (what the Network
// panel's "Import HAR file" runs) reads each entry into a network request. Prints how many
// entries it read and the first request's URL, method and status; exit 1 on a failure.
//
//   node devtools-har.js FILE.har [CHROMIUM]
const fs = require("fs");
const puppeteer = require("puppeteer-core");

(async () => {
  const har = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const browser = await puppeteer.launch({
    executablePath: process.argv[3] || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    // The DevTools front end ships inside Chromium; open it as a page of its own.
    const session = await browser.target().createCDPSession();
    const { targetId } = await session.send("Target.createTarget", {
      url: "devtools://devtools/bundled/devtools_app.html",
    });
    const target = await browser.waitForTarget((t) => t._targetId === targetId);
    const page = await target.asPage();
    await page.waitForFunction(() => document.readyState === "complete");
    const got = await page.evaluate(async (json) => {
      const HAR = await import("./models/har/har.js");
      // As the Network panel imports a file: the HAR parsed into DevTools' model, then read.
      const root = new HAR.HARFormat.HARRoot(json);
      const requests = HAR.Importer.Importer.requestsFromHARLog(root.log);
      const first = requests[0];
      return {
        count: requests.length,
        url: first && first.url(),
        method: first && first.requestMethod,
        status: first && first.statusCode,
      };
    }, har);
    console.log(JSON.stringify(got));
    if (got.count !== har.log.entries.length) {
      console.error(`DevTools read ${got.count} of ${har.log.entries.length} entries`);
      process.exitCode = 1;
    }
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
