"""The DiT Lab app's tabs. One module per tab (`generate`, `inpaint`, `denoise`, `trace`,
`explain`), each with its handlers and its `create_<tab>()` UI builder; `runtime` holds the
loaded model (one per process) and hands out a fresh pipeline per request; `streaming` runs a
pipeline in a worker and yields typed step events; `inputs` is the one gate every upload and
number passes; `frames`, `viz`, `metrics` and `files` turn results into what is shown."""
