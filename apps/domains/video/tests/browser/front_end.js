// What an admin front end on its own origin does, step by step: log in, upload a clip through the presigned URL,
// follow the transcode through Server-Sent Events with a ticket, play the video, and read a 403 after expiry.
// `journey(config)` resolves with what each step saw; the test asserts on it.

async function api(config, path, options = {}) {
  const headers = {"Content-Type": "application/json", ...(options.headers || {})};
  if (config.access) headers.Authorization = `Bearer ${config.access}`;
  const response = await fetch(config.api + path, {...options, headers});
  const text = await response.text();
  return {status: response.status, body: text ? JSON.parse(text) : null};
}

function within(ms, what, promise) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: timed out`)), ms))]);
}

function followEvents(url) {
  const seen = {states: [], ended: false, errors: 0};
  return new Promise((resolve) => {
    const source = new EventSource(url);
    source.addEventListener("status", (event) => seen.states.push(JSON.parse(event.data).status));
    source.addEventListener("end", () => { seen.ended = true; source.close(); resolve(seen); });
    source.onerror = () => { seen.errors += 1; };
  });
}

function playPast(video, seconds, hlsErrors) {
  return new Promise((resolve) => {
    video.addEventListener("timeupdate", () => {
      if (video.currentTime > seconds) resolve(video.currentTime);
    });
    video.play().catch((error) => hlsErrors.push(`play: ${error}`));
  });
}

async function journey(config) {
  const seen = {};
  const login = await api(config, "/api/v1/auth/token/", {
    method: "POST", body: JSON.stringify({username: config.username, password: config.password})});
  seen.login = login.status;
  config.access = login.body.access;

  const clip = await (await fetch("clip.mp4")).arrayBuffer();
  const created = await api(config, "/api/v1/videos/", {method: "POST", body: JSON.stringify({
    title: "브라우저 업로드", lecture_id: config.lectureId, filename: "clip.mp4", size: clip.byteLength,
    content_type: "video/mp4"})});
  seen.create = created.status;
  const video = created.body.video;
  const upload = created.body.upload;

  const put = await fetch(upload.url, {method: upload.method, headers: upload.headers, body: clip});
  seen.put = {status: put.status, etag: put.headers.get("ETag")};

  const completed = await api(config, `/api/v1/videos/${video.id}/upload_complete/`, {method: "POST", body: "{}"});
  seen.complete = completed.status;

  const ticket = await api(config, `/api/v1/jobs/${completed.body.job_id}/events/ticket/`, {method: "POST"});
  seen.ticket = ticket.status;
  seen.events = await within(60000, "events", followEvents(new URL(ticket.body.url, config.api).href));

  const playback = await api(config, `/api/v1/videos/${video.id}/playback/`);
  seen.playback = playback.status;
  const player = document.getElementById("player");
  const hlsErrors = [];
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_, data) => hlsErrors.push(`${data.type}/${data.details}`));
  hls.loadSource(playback.body.url);
  hls.attachMedia(player);
  seen.played = await within(30000, "playback", playPast(player, config.playSeconds, hlsErrors)).catch(
    (error) => String(error));
  seen.hlsErrors = hlsErrors;
  hls.destroy();

  const expired = await fetch(await window.expiredPlaylistUrl(video.id));
  seen.expired = {status: expired.status, code: (await expired.json()).code};
  return seen;
}
