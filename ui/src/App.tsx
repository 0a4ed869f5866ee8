import { useEffect, useState } from "react";
import { setUnauthorizedHandler } from "./api/client";
import { Link } from "./components/Link";
import { ComparePage } from "./pages/ComparePage";
import { LoginPage } from "./pages/LoginPage";
import { ModelPage } from "./pages/ModelPage";
import { ModelsPage } from "./pages/ModelsPage";
import { PipelinePage } from "./pages/PipelinePage";
import { PipelinesPage } from "./pages/PipelinesPage";
import { RunPage } from "./pages/RunPage";
import { RunsPage } from "./pages/RunsPage";
import { SchedulePage } from "./pages/SchedulePage";
import { SchedulesPage } from "./pages/SchedulesPage";
import { routeOf, useLocation, type Route } from "./router";

const NAV: { to: string; label: string; pages: Route["page"][] }[] = [
  { to: "/runs", label: "Runs", pages: ["runs", "run"] },
  { to: "/pipelines", label: "Pipelines", pages: ["pipelines", "pipeline"] },
  { to: "/models", label: "Models", pages: ["models", "model"] },
  { to: "/schedules", label: "Schedules", pages: ["schedules", "schedule"] },
  { to: "/compare", label: "Compare", pages: ["compare"] },
];

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "runs": return <RunsPage />;
    case "run": return <RunPage key={route.runId} runId={route.runId} />;
    case "compare": return <ComparePage />;
    case "models": return <ModelsPage />;
    case "model": return <ModelPage key={route.name} name={route.name} />;
    case "pipelines": return <PipelinesPage />;
    case "pipeline": return <PipelinePage key={route.name} name={route.name} />;
    case "schedules": return <SchedulesPage />;
    case "schedule": return <SchedulePage key={route.name} name={route.name} />;
    default: return <div className="empty">Nothing here. <Link to="/runs">See the runs</Link>.</div>;
  }
}

/** The frame every page shares; the login page instead once the server says 401. */
export function App() {
  const { path } = useLocation();
  const [signedOut, setSignedOut] = useState(false);
  useEffect(() => setUnauthorizedHandler(() => setSignedOut(true)), []);
  const route = routeOf(path);
  if (signedOut || route.page === "login") return <LoginPage />;
  return (
    <div className="frame">
      <nav className="sidebar">
        <Link to="/runs" className="brand">legato</Link>
        {NAV.map((item) => (
          <Link
            key={item.to}
            to={item.to}
            className={item.pages.includes(route.page) ? "nav active" : "nav"}
          >
            {item.label}
          </Link>
        ))}
      </nav>
      <main className="content">
        <Page route={route} />
      </main>
    </div>
  );
}
