"""The catalog's launch readiness checks (registered when the app is ready)."""

from django.urls import reverse

from opsdesk.processes.readiness import readiness_check


@readiness_check("catalog-web-ready", "Every active product is web-ready")
def _every_active_product_is_web_ready() -> tuple[bool, str, str]:
    from catalog.selectors import active_not_web_ready

    fix = reverse("catalog:queue")
    missing = list(active_not_web_ready().values_list("title", flat=True)[:4])
    if not missing:
        return (
            True,
            "Every active product has a picture, a description, prices and a category.",
            fix,
        )
    count = active_not_web_ready().count()
    names = ", ".join(missing[:3]) + (" …" if count > 3 else "")
    noun = "product is" if count == 1 else "products are"
    return False, f"{count} active {noun} not web-ready: {names}.", fix
