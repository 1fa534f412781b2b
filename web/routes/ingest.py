"""Ingest: paste URLs, watch each one being fetched, extracted and stored; retry failures."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from web.jobs import JobManager
from web.render import respond, wants_json
from web.state import StateDep

router = APIRouter()
MAX_SOURCES = 200


def parse_sources(text: str) -> list[str]:
    """The http(s) URLs in a pasted text, one per line, duplicates dropped.

    Local paths are refused here: the web UI must not read files off the server.
    """
    sources: list[str] = []
    bad: list[str] = []
    for line in text.splitlines():
        url = line.strip()
        if not url or url.startswith("#"):
            continue
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            bad.append(url)
        elif url not in sources:
            sources.append(url)
    if bad:
        raise HTTPException(
            422, [{"field": "urls", "message": f"not an http(s) URL: {u}"} for u in bad]
        )
    if not sources:
        raise HTTPException(422, [{"field": "urls", "message": "paste at least one URL"}])
    if len(sources) > MAX_SOURCES:
        raise HTTPException(
            422, [{"field": "urls", "message": f"at most {MAX_SOURCES} URLs at once"}]
        )
    return sources


def _jobs(state: Any) -> JobManager:
    if state.jobs is None:
        state.jobs = JobManager(state.settings, state.store, state.extractor_factory)
    jobs: JobManager = state.jobs
    return jobs


def _started(request: Request, job_id: str) -> Response:
    if wants_json(request):
        job = _jobs(request.app.state.signalkb).jobs[job_id]
        return JSONResponse({"job": job.to_dict()}, status_code=202)
    return RedirectResponse(f"/ingest/{job_id}", status_code=303)


@router.get("/ingest", include_in_schema=False)
@router.get("/api/ingest", summary="Recent ingest jobs")
def ingest_page(request: Request, state: StateDep) -> Response:
    """The form to paste URLs, and the recent jobs."""
    jobs = _jobs(state).recent()
    return respond(request, "ingest.html", {"jobs": [job.to_dict() for job in jobs]})


@router.post("/ingest", include_in_schema=False)
@router.post("/api/ingest", summary="Start ingesting URLs in the background", status_code=202)
def start_ingest(
    request: Request, state: StateDep, urls: Annotated[str, Form(max_length=100_000)]
) -> Response:
    """Queue a job for the pasted URLs; the answer points at its progress."""
    job = _jobs(state).submit(parse_sources(urls))
    return _started(request, job.id)


@router.get("/ingest/{job_id}", include_in_schema=False)
@router.get("/api/ingest/{job_id}", summary="Progress of one ingest job")
def job_page(request: Request, state: StateDep, job_id: str) -> Response:
    """Each source of the job with its stage, or its failure and reason."""
    job = _jobs(state).get(job_id)
    if job is None:
        raise HTTPException(404, "No ingest job with this id (jobs are kept until a restart).")
    return respond(request, "job.html", {"job": job.to_dict()})


@router.post("/ingest/{job_id}/retry", include_in_schema=False)
@router.post(
    "/api/ingest/{job_id}/retry", summary="Retry the failed sources of a job", status_code=202
)
def retry_job(request: Request, state: StateDep, job_id: str) -> Response:
    """Queue a new job with the sources that failed."""
    manager = _jobs(state)
    job = manager.get(job_id)
    if job is None:
        raise HTTPException(404, "No ingest job with this id.")
    failed = job.failed_sources()
    if not failed:
        raise HTTPException(422, [{"field": "job", "message": "nothing failed in this job"}])
    return _started(request, manager.submit(failed, retry_of=job.id).id)
