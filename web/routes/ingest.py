"""Ingest: paste URLs, watch each one being fetched, extracted and stored; retry failures."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from web.jobs import Job
from web.render import respond, wants_json
from web.state import StateDep

router = APIRouter()
MAX_SOURCES = 200


def _is_http(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def parse_sources(text: str, feed: str = "") -> tuple[list[str], list[str]]:
    """The http(s) article URLs in a pasted text (one per line) and the feed URL, if any.

    Local paths are refused here: the web UI must not read files off the server. Raises
    HTTPException(422) whose detail lists the problems, each with its form field.
    """
    lines = [line.strip() for line in text.splitlines()]
    sources = list(dict.fromkeys(u for u in lines if u and not u.startswith("#")))
    feeds = [feed.strip()] if feed.strip() else []
    problems = [
        {
            "field": field,
            "message": f"not an http(s) URL: {url}"
            + ("" if "://" in url else " (the web UI fetches URLs only, never server files)"),
        }
        for field, urls in (("urls", sources), ("feed", feeds))
        for url in urls
        if not _is_http(url)
    ]
    if not sources and not feeds:
        problems.append({"field": "urls", "message": "paste a URL or give a feed"})
    if len(sources) > MAX_SOURCES:
        problems.append({"field": "urls", "message": f"at most {MAX_SOURCES} URLs at once"})
    if problems:
        raise HTTPException(422, problems)
    return sources, feeds


def _started(request: Request, job: Job) -> Response:
    if wants_json(request):
        return JSONResponse({"job": job.to_dict()}, status_code=202)
    return RedirectResponse(f"/ingest/{job.id}", status_code=303)


@router.get("/ingest", include_in_schema=False)
@router.get("/api/ingest", summary="Recent ingest jobs")
def ingest_page(request: Request, state: StateDep) -> Response:
    """The form to paste URLs, and the recent jobs."""
    jobs = state.job_manager.recent()
    context = {"jobs": [job.to_dict() for job in jobs], "errors": {}, "urls": "", "feed": ""}
    return respond(request, "ingest.html", context)


@router.post("/ingest", include_in_schema=False)
@router.post("/api/ingest", summary="Start ingesting URLs in the background", status_code=202)
def start_ingest(
    request: Request,
    state: StateDep,
    urls: Annotated[str, Form(max_length=100_000, description="article URLs, one a line")] = "",
    feed: Annotated[str, Form(max_length=2000, description="an RSS/Atom feed or sitemap")] = "",
) -> Response:
    """Queue a job for the pasted URLs and the feed's articles; the answer points at it.

    A form with problems comes back with each problem beside its field and the pasted text
    kept (422); the JSON API answers 422 with the list of problems.
    """
    try:
        sources, feeds = parse_sources(urls, feed)
    except HTTPException as exc:
        if wants_json(request):
            raise
        jobs = [job.to_dict() for job in state.job_manager.recent()]
        errors: dict[str, list[str]] = {}
        for problem in exc.detail:
            errors.setdefault(problem["field"], []).append(problem["message"])
        context = {"jobs": jobs, "errors": errors, "urls": urls, "feed": feed}
        return respond(request, "ingest.html", context, status_code=422)
    job = state.job_manager.submit(sources, feeds=tuple(feeds))
    return _started(request, job)


@router.get("/ingest/{job_id}", include_in_schema=False)
@router.get("/api/ingest/{job_id}", summary="Progress of one ingest job")
def job_page(request: Request, state: StateDep, job_id: str) -> Response:
    """Each source of the job with its stage, or its failure and reason."""
    job = state.job_manager.get(job_id)
    if job is None:
        raise HTTPException(404, "No ingest job with this id (jobs are kept until a restart).")
    return respond(request, "job.html", {"job": job.to_dict()})


@router.post("/ingest/{job_id}/retry", include_in_schema=False)
@router.post(
    "/api/ingest/{job_id}/retry", summary="Retry the failed sources of a job", status_code=202
)
def retry_job(request: Request, state: StateDep, job_id: str) -> Response:
    """Queue a new job with the sources that failed."""
    manager = state.job_manager
    job = manager.get(job_id)
    if job is None:
        raise HTTPException(404, "No ingest job with this id.")
    failed, feeds = job.failed("article"), job.failed("feed")
    if not failed and not feeds:
        raise HTTPException(422, [{"field": "job", "message": "nothing failed in this job"}])
    return _started(request, manager.submit(failed, feeds=tuple(feeds), retry_of=job.id))
