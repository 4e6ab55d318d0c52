import type { Request, Response } from 'express';
import type { z } from 'zod';
import * as reports from '../../shared/protocol/reports.ts';
import { liabilityCsv, membersCsv, patternsCsv, salesCsv, smsCsv } from '../reports/csv.ts';
import { LiveToday } from '../reports/live.ts';
import {
  liabilityReport,
  membersReport,
  patternsReport,
  salesReport,
  smsReport,
  todaySummary,
  type ReportDeps,
} from '../reports/queries.ts';
import { route, type AnyRoute, type Reply } from './route.ts';
import type { RouteDeps } from './routes.ts';

const problems = {
  400: { description: 'A query parameter is not valid (the problem names it)' },
  401: { description: 'Not signed in' },
  403: { description: 'Reports need a manager or an admin' },
  422: { description: 'An unknown showroom code' },
};

/** Whether the caller asked for CSV: ?format=csv, or Accept preferring text/csv over JSON. */
function wantsCsv(req: Request, format: reports.ReportFormat | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return req.accepts(['application/json', 'text/csv']) === 'text/csv';
}

/** Sends a CSV download; the route's JSON reply is then skipped (headers already sent). */
function sendCsv(res: Response, name: string, q: { from: string; to: string }, csv: string): Reply {
  res
    .status(200)
    .type('text/csv; charset=utf-8')
    .setHeader('Content-Disposition', `attachment; filename="${name}-${q.from}-to-${q.to}.csv"`)
    .send(csv);
  return { status: 200, body: undefined };
}

function reportRoute<
  Q extends z.ZodType<{ format?: reports.ReportFormat; from: string; to: string }>,
>(
  def: {
    path: string;
    operationId: string;
    summary: string;
    query: Q;
    schema: z.ZodType;
    file: string;
  },
  run: (query: z.output<Q>) => Promise<unknown>,
  csv: (report: never, query: z.output<Q>) => string,
): AnyRoute {
  return route({
    method: 'get',
    path: def.path,
    operationId: def.operationId,
    summary: def.summary,
    tag: 'reports',
    access: 'manager',
    query: def.query,
    responses: {
      200: {
        description: 'The report as JSON; as a CSV download with ?format=csv or Accept: text/csv',
        schema: def.schema,
      },
      ...problems,
    },
    handler: async ({ query, req, res }) => {
      const q = query as z.output<Q>;
      const report = await run(q);
      if (wantsCsv(req, q.format)) return sendCsv(res, def.file, q, csv(report as never, q));
      return { status: 200, body: report };
    },
  });
}

/** Reports: loyalty sales vs redemption, liability, members, buying patterns, SMS. */
export function reportRoutes(deps: RouteDeps): AnyRoute[] {
  const reportDeps: ReportDeps = { db: deps.db, timeZone: deps.timeZone, clock: deps.clock };
  const live = new LiveToday(reportDeps, deps.changes);
  return [
    reportRoute(
      {
        path: reports.REPORT_PATHS.sales,
        operationId: 'salesReport',
        summary: 'Loyalty sales vs redemption, by period, showroom or category',
        query: reports.SalesReportQuery,
        schema: reports.SalesReport,
        file: 'loyalty-sales',
      },
      (q) => salesReport(reportDeps, q),
      (r: reports.SalesReport) => salesCsv(r),
    ),
    reportRoute(
      {
        path: reports.REPORT_PATHS.liability,
        operationId: 'liabilityReport',
        summary: 'Points liability: opening, movements by kind, closing and its value',
        query: reports.LiabilityReportQuery,
        schema: reports.LiabilityReport,
        file: 'points-liability',
      },
      (q) => liabilityReport(reportDeps, q),
      (r: reports.LiabilityReport) => liabilityCsv(r),
    ),
    reportRoute(
      {
        path: reports.REPORT_PATHS.members,
        operationId: 'membersReport',
        summary: 'Enrolments and active members, by showroom or period',
        query: reports.MembersReportQuery,
        schema: reports.MembersReport,
        file: 'members',
      },
      (q) => membersReport(reportDeps, q),
      (r: reports.MembersReport) => membersCsv(r),
    ),
    reportRoute(
      {
        path: reports.REPORT_PATHS.patterns,
        operationId: 'patternsReport',
        summary: 'Buying patterns: category mix, visit frequency, RFM, showrooms, churn risk',
        query: reports.PatternsReportQuery,
        schema: reports.PatternsReport,
        file: 'buying-patterns',
      },
      (q) => patternsReport(reportDeps, q),
      (r: reports.PatternsReport, q) => patternsCsv(r, q.section ?? 'category-mix'),
    ),
    reportRoute(
      {
        path: reports.REPORT_PATHS.sms,
        operationId: 'smsReport',
        summary: 'SMS by kind: sent, failed, refused, unknown, expired, pending',
        query: reports.SmsReportQuery,
        schema: reports.SmsReport,
        file: 'sms',
      },
      (q) => smsReport(reportDeps, q),
      (r: reports.SmsReport) => smsCsv(r),
    ),
    route({
      method: 'get',
      path: reports.REPORT_PATHS.today,
      operationId: 'todaySummary',
      summary: "Today's figures for the dashboard",
      tag: 'reports',
      access: 'manager',
      query: reports.TodayQuery,
      responses: {
        200: { description: "Today's figures", schema: reports.TodaySummary },
        ...problems,
      },
      handler: async ({ query }) => ({ status: 200, body: await todaySummary(reportDeps, query) }),
    }),
    route({
      method: 'get',
      path: reports.REPORT_PATHS.live,
      operationId: 'liveToday',
      summary: "Today's figures as server-sent events, pushed after each sale",
      tag: 'reports',
      access: 'manager',
      query: reports.TodayQuery,
      responses: {
        200: {
          description: `text/event-stream: "${reports.LIVE_TODAY_EVENT}" events, each a TodaySummary, at once and after ledger commits (at most one a second), and a heartbeat comment every 25 s`,
        },
        ...problems,
      },
      handler: async ({ query, req, res }) => {
        await live.attach(query, req, res);
        return { status: 200, body: undefined };
      },
    }),
  ];
}
