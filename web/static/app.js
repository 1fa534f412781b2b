// signalkb: the little script the pages need (live ingest progress). Text only, never HTML.
"use strict";
