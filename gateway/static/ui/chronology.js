// The multi-agency chronology: an SVG with one lane per agency and a time
// axis, plus the same events as a table (the accessible, keyboard-readable
// form of the chart). Gaps say which agencies' events are withheld or missing.

import { agencyLabel, shortTitle } from "./agencies.js";
import { h, svg } from "./dom.js";

const WIDTH = 1000;
const LABEL_WIDTH = 190;
const RIGHT_PAD = 24;
const AXIS_HEIGHT = 34;
const LANE_HEIGHT = 54;
// Distinct hues, each at least 4.5:1 against white.
const LANE_COLOURS = ["#1d4f91", "#8a1c7c", "#00703c", "#9c4a00", "#4c2c92", "#a0292d", "#005a6e"];

// One colour per agency for the whole page, so an agency keeps its colour
// when lanes are filtered out and on the household map.
export function agencyColours(agencies) {
  return new Map(agencies.map((a, i) => [a.name, LANE_COLOURS[i % LANE_COLOURS.length]]));
}

// A masked date is a year only: placed mid-year and drawn hollow.
function parseDate(text) {
  if (/^\d{4}$/.test(text)) return { time: Date.UTC(Number(text), 6, 1), approximate: true };
  const [y, m, d] = text.slice(0, 10).split("-").map(Number);
  return { time: Date.UTC(y, m - 1, d), approximate: false };
}

function yearTicks(start, end) {
  const first = new Date(start).getUTCFullYear();
  const last = new Date(end).getUTCFullYear() + 1;
  const step = Math.max(1, Math.ceil((last - first) / 12));
  const ticks = [];
  for (let year = first; year <= last; year += step) ticks.push(year);
  return ticks;
}

function gapText(gap) {
  return gap.code === "FORBIDDEN"
    ? `Withheld: ${gap.reason}`
    : `Unavailable (${gap.code}): ${gap.reason}`;
}

function renderWithheld(chart, gapList, tableBody, error, columns) {
  const withheld = error.extensions?.code === "FORBIDDEN";
  chart.replaceChildren(
    h(
      "p",
      { class: "chart-message" },
      h("span", { class: withheld ? "tag tag-withheld" : "tag tag-unavailable" }, withheld ? "Withheld" : "Unavailable"),
      " ",
      withheld ? h("span", { class: "reason" }, error.extensions.reason) : error.message,
    ),
  );
  gapList.replaceChildren();
  tableBody.replaceChildren(h("tr", {}, h("td", { colspan: columns }, "The chronology is not available to you.")));
}

// Draws into `chart`, `gapList` and `tableBody`. `error` is the GraphQL error at the
// timeline's own path, if it was withheld or failed; `colours` maps each agency to its
// colour (agencyColours); `title` names the chart for screen readers; `whose`, for a
// household, names each event's person (the table then has a Person column).
export function renderChronology({ chart, gapList, tableBody, lanes, colours, timeline, error, title, whose }) {
  if (error) {
    renderWithheld(chart, gapList, tableBody, error, whose ? 5 : 4);
    return;
  }
  const events = timeline?.events ?? [];
  const gaps = timeline?.gaps ?? [];
  const placed = events.map((event) => ({ event, ...parseDate(event.date) }));
  const times = placed.map((p) => p.time);
  const year = 365.25 * 24 * 3600 * 1000;
  const start = times.length ? Math.min(...times) - year / 4 : Date.UTC(2020, 0, 1);
  const end = times.length ? Math.max(...times) + year / 4 : Date.UTC(2021, 0, 1);
  const axisStart = Date.UTC(new Date(start).getUTCFullYear(), 0, 1);
  const axisEnd = Date.UTC(new Date(end).getUTCFullYear() + 1, 0, 1);
  const x = (time) =>
    LABEL_WIDTH + ((time - axisStart) / (axisEnd - axisStart)) * (WIDTH - LABEL_WIDTH - RIGHT_PAD);
  const height = AXIS_HEIGHT + lanes.length * LANE_HEIGHT + 8;

  const axis = yearTicks(axisStart, axisEnd - 1).map((tick) =>
    svg(
      "g",
      { class: "tick" },
      svg("line", {
        x1: x(Date.UTC(tick, 0, 1)),
        x2: x(Date.UTC(tick, 0, 1)),
        y1: AXIS_HEIGHT - 6,
        y2: height - 8,
      }),
      x(Date.UTC(tick, 0, 1)) < WIDTH - 40
        ? svg("text", { x: x(Date.UTC(tick, 0, 1)) + 3, y: AXIS_HEIGHT - 12 }, String(tick))
        : null,
    ),
  );

  const laneGroups = lanes.map((agency, index) => {
    const top = AXIS_HEIGHT + index * LANE_HEIGHT;
    const middle = top + LANE_HEIGHT / 2;
    const colour = colours.get(agency.name);
    const mine = placed.filter((p) => p.event.agency === agency.name);
    const gap = gaps.find((g) => g.agency === agency.name);
    return svg(
      "g",
      { class: "lane", "data-agency": agency.name },
      svg("rect", {
        x: 0,
        y: top,
        width: WIDTH,
        height: LANE_HEIGHT,
        class: index % 2 ? "lane-bg odd" : "lane-bg",
      }),
      svg("text", { x: 8, y: middle + 5, class: "lane-label" }, shortTitle(agency)),
      svg("line", { x1: LABEL_WIDTH, x2: WIDTH - RIGHT_PAD, y1: middle, y2: middle, class: "lane-line" }),
      gap ? svg("text", { x: LABEL_WIDTH + 8, y: top + 16, class: "lane-gap" }, gapText(gap)) : null,
      mine.map((p, i) =>
        svg(
          "circle",
          {
            cx: x(p.time),
            cy: middle + ((i % 3) - 1) * 9,
            r: 7,
            class: p.approximate ? "event approximate" : "event",
            fill: p.approximate ? "#ffffff" : colour,
            stroke: colour,
            "data-date": p.event.date,
          },
          svg(
            "title",
            {},
            `${p.event.date} · ${whose ? `${whose(p.event)} · ` : ""}${p.event.kind}: ${p.event.summary}`,
          ),
        ),
      ),
    );
  });

  const first = events[0]?.date;
  const last = events[events.length - 1]?.date;
  chart.replaceChildren(
    svg(
      "svg",
      {
        viewBox: `0 0 ${WIDTH} ${height}`,
        role: "img",
        "aria-labelledby": `${chart.id}-title ${chart.id}-desc`,
        class: "chronology-svg",
      },
      svg("title", { id: `${chart.id}-title` }, title),
      svg(
        "desc",
        { id: `${chart.id}-desc` },
        events.length
          ? `${events.length} events across ${lanes.length} agencies, from ${first} to ${last}. ` +
              "The same events are listed in the table below."
          : "No events in this range.",
      ),
      axis,
      laneGroups,
    ),
  );

  gapList.replaceChildren(
    ...gaps.map((gap) =>
      h(
        "li",
        { class: gap.code === "FORBIDDEN" ? "gap gap-withheld" : "gap gap-unavailable" },
        h("strong", {}, agencyLabel(lanes, gap.agency)),
        `: ${gapText(gap)}. The chronology is incomplete for this agency.`,
      ),
    ),
  );

  tableBody.replaceChildren(
    ...(events.length
      ? events.map((event) =>
          h(
            "tr",
            { "data-agency": event.agency },
            h("td", {}, event.date),
            whose ? h("td", { class: "subject" }, whose(event)) : null,
            h("td", {}, agencyLabel(lanes, event.agency)),
            h("td", {}, event.kind),
            h("td", {}, event.summary),
          ),
        )
      : [h("tr", {}, h("td", { colspan: whose ? 5 : 4 }, "No events in this range."))]),
  );
}
