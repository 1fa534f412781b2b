// signalkb: live progress of an ingest job. It writes text only (textContent), never HTML.
"use strict";

// Seconds as "42 s" or "3 min 05 s", as the server's `duration` filter writes them.
function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return s + " s";
  return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
}

function statusText(entry) {
  let text = entry.status;
  if (entry.step) text += " · " + entry.step;
  if (entry.elapsed !== null && entry.elapsed !== undefined) text += " · " + duration(entry.elapsed);
  else if (entry.seconds !== null && entry.seconds !== undefined) text += " in " + duration(entry.seconds);
  return text;
}

function renderEntry(row, entry) {
  const status = row.querySelector(".status");
  status.textContent = statusText(entry);
  status.className = "status status-" + entry.status;
  row.querySelector(".message").textContent = entry.message;
  const cell = row.querySelector(".article");
  cell.textContent = "";
  if (entry.article_id) {
    const link = document.createElement("a");
    link.href = "/articles/" + encodeURIComponent(entry.article_id);
    link.textContent = entry.title || entry.article_id;
    cell.appendChild(link);
  } else {
    cell.textContent = entry.title;
  }
}

function addRow(body, entry) {
  const row = document.createElement("tr");
  for (const name of ["source", "status", "article", "message"]) {
    const cell = document.createElement("td");
    cell.className = name;
    row.appendChild(cell);
  }
  row.querySelector(".source").textContent = entry.source;
  body.appendChild(row);
  return row;
}

function watchJob(state) {
  const id = state.dataset.job;
  const body = document.querySelector("table.progress tbody");
  async function poll() {
    let job;
    try {
      const answer = await fetch("/api/ingest/" + encodeURIComponent(id), {headers: {Accept: "application/json"}});
      job = (await answer.json()).job;
    } catch (error) {
      setTimeout(poll, 2000);
      return;
    }
    const rows = body.querySelectorAll("tr");
    // A feed adds its articles to the job as it is read.
    job.entries.forEach((entry, i) => renderEntry(rows[i] || addRow(body, entry), entry));
    if (!job.done) {
      const eta = job.eta_seconds === null ? "" : " about " + duration(job.eta_seconds) + " left";
      state.querySelector(".job-message").textContent = "Working…" + eta;
    }
    if (job.done) {
      state.dataset.done = "true";
      state.querySelector(".job-message").textContent = job.error ? job.error : "Done.";
      const retry = document.querySelector("form.retry");
      if (retry && job.counts.failed) retry.hidden = false;
    } else {
      setTimeout(poll, 500);
    }
  }
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  const state = document.querySelector(".job-state");
  if (state && state.dataset.done === "false") watchJob(state);
});
