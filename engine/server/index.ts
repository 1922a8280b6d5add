// The HTTP API of dwe as a library: `import { serve } from "dwe/server"` (docs/http-api.md).
export { serve, type DweServer, type ServerOptions } from "./server.js";
