// signalkb: live progress of an ingest job. It writes text only (textContent), never HTML.
"use strict";

function renderEntry(row, entry) {
  const status = row.querySelector(".status");
  status.textContent = entry.status;
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
