"""Steps the browser tests share: wait until a Dash page has settled, and switch role as a person does."""

from __future__ import annotations

import time

DEMO_DISTRICT = "310115"  # 浦东新区: the district a demo district official is given in the tests


def settle(page, pause: float = 0.4) -> None:
    """Wait for the network to go quiet and Dash's loading marker to go, then a short pause for the last draw."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('._dash-loading')", timeout=30_000)
    time.sleep(pause)


def switch_role(page, url: str, role: str, district: str = DEMO_DISTRICT) -> None:
    """Pick the role (and a district official's district) in the demo banner and press 切换 Switch."""
    page.goto(url + "/")
    page.wait_for_selector(".auth-bar.demo #demo-role")
    page.select_option("#demo-role", role)
    if role == "district_official":
        page.select_option("#demo-district", district)
    page.click(".auth-bar.demo button[type=submit]")
    page.wait_for_selector(f'.auth-bar .auth-who[data-role="{role}"]', timeout=15_000)


def choose(page, select_id: str, text: str) -> None:
    """Choose in a drop-down as a person does: click it, type part of an option's label, press Enter."""
    page.locator(f"#{select_id}").scroll_into_view_if_needed()
    page.click(f"#{select_id}")
    # the menu opens and puts the keyboard in its search box a frame later (app/assets/dropdown-search.js): text
    # typed before that (an input method's, which sends no key events) would go nowhere
    page.wait_for_function("() => (document.activeElement || {}).classList?.contains('dash-dropdown-search')",
                           timeout=10_000)
    page.keyboard.type(text)
    # Enter takes the first option the search has left: wait for the menu to have filtered (as a person sees it)
    page.wait_for_function("""(text) => {
        const first = document.querySelector('.dash-dropdown-content [role=option]');
        return !!first && first.innerText.toLowerCase().includes(text.toLowerCase());
    }""", arg=text, timeout=10_000)
    page.keyboard.press("Enter")


# a point inside one unit's shape on a boundary map (the fill trace named by its code), as far as possible from every
# label: the pixel a person would click in the middle of a large shape, not on its name
_INSIDE_SHAPE = """([graph, code]) => {
  const gd = document.getElementById(graph).querySelector('.js-plotly-plot');
  const shape = gd.data.find(t => t.fill === 'toself' && t.name === code);
  const xs = [], ys = [];
  for (let i = 0; i < shape.x.length && shape.x[i] !== null; i++) { xs.push(shape.x[i]); ys.push(shape.y[i]); }
  const inside = (x, y) => { let c = false;
    for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) {
      if ((ys[i] > y) !== (ys[j] > y) && x < (xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i]) + xs[i]) c = !c; }
    return c; };
  const fx = gd._fullLayout.xaxis, fy = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const px = x => box.left + fx._offset + fx.l2p(x), py = y => box.top + fy._offset + fy.l2p(y);
  const labels = gd.data.filter(t => t.customdata && t.mode && t.mode.includes('markers'))
    .flatMap(t => t.x.map((x, i) => [px(x), py(t.y[i])]));
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  let best = null, far = -1;
  for (let i = 1; i < 30; i++) for (let k = 1; k < 30; k++) {
    const x = x0 + (x1 - x0) * i / 30, y = y0 + (y1 - y0) * k / 30;
    if (!inside(x, y)) continue;
    const d = Math.min(...labels.map(([a, b]) => Math.hypot(a - px(x), b - py(y))));
    if (d > far) { far = d; best = [px(x), py(y), d]; }
  }
  return best;
}"""


def click_shape(page, graph: str, code: str) -> float:
    """Click inside unit `code`'s shape on the boundary map `graph`, away from its name; returns how far (px) from
    the nearest name the click was."""
    page.locator(f"#{graph}").scroll_into_view_if_needed()
    x, y, far = page.evaluate(_INSIDE_SHAPE, [graph, code])
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    return float(far)


def click_point(page, graph: str, code: str) -> None:
    """Click the point (a name's or a unit's marker) whose customdata is `code` on the plotly graph `graph`."""
    page.locator(f"#{graph}").scroll_into_view_if_needed()
    x, y = page.evaluate("""([graph, code]) => {
      const gd = document.getElementById(graph).querySelector('.js-plotly-plot');
      const tr = gd.data.find(t => t.customdata && t.customdata.includes(code)), i = tr.customdata.indexOf(code);
      const fx = gd._fullLayout.xaxis, fy = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
      return [box.left + fx._offset + fx.l2p(tr.x[i]), box.top + fy._offset + fy.l2p(tr.y[i])];
    }""", [graph, code])
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def draw_chart(page, graph: str, timeout: float = 60_000) -> None:
    """Scroll chart `graph` (its id) into view, as a person does, and wait until plotly has drawn it: a chart below
    the first screen is drawn only when it comes near (app/assets/graph-lazy.js)."""
    page.wait_for_selector(f"#{graph}", state="attached", timeout=timeout)
    page.locator(f"#{graph}").scroll_into_view_if_needed()
    page.wait_for_selector(f"#{graph} .main-svg", timeout=timeout)


def draw_all_charts(page, timeout: float = 60_000) -> None:
    """Every chart of the page drawn without scrolling (what the print does first), e.g. before a full-page
    screenshot."""
    page.wait_for_function("() => document.readyState === 'complete' || !!window.govindexCharts", timeout=timeout)
    page.evaluate("() => window.govindexCharts ? window.govindexCharts.drawAll() : null")
