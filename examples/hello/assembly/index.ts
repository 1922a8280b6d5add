// hello: logs a greeting and outputs {"greeting":"hello, NAME"}.
// Input (optional JSON): {"name": "..."}; the name defaults to "world".

import { inputJson, outputJson, log, Json, JsonObject } from "../../../guest-sdk/assemblyscript";

export function run(): void {
  const input = inputJson();
  let name = "world";
  if (input.isObject) {
    name = (<JsonObject>input).getString("name", "world");
  }
  const greeting = "hello, " + name;
  log(greeting);
  outputJson(Json.obj().setString("greeting", greeting));
}
