"""axe-core in the browser tests: load it into every page of a context, run it, keep what matters.

``tests/browser/vendor/axe.min.js`` is the npm package axe-core (version in its first line; licence beside it).
It is loaded as an init script rather than a <script> tag: the app's Content-Security-Policy refuses inline
scripts, and the pages are checked with that policy on, as users get them.
"""

from pathlib import Path

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")


def install_axe(context):
    context.add_init_script(path=str(AXE_JS))


def axe_violations(page, *, impacts=BLOCKING, include=None):
    """The violations of ``impacts`` on the page as it is now (``include``: a CSS selector to check only that)."""
    results = page.evaluate(
        """async (include) => {
          const r = await axe.run(include ? {include: [include]} : document, {resultTypes: ["violations"]});
          return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary}))}));
        }""",
        include,
    )
    return [v for v in results if v["impact"] in impacts]


def describe(name, violations):
    lines = []
    for v in violations:
        lines.append(f"{name}: {v['id']} ({v['impact']}) {v['help']}")
        for node in v["nodes"][:3]:
            lines.append(f"    {node['target']}: {node['summary'].splitlines()[-1].strip()}")
    return lines
