import { z } from "zod";
import { amqpUrlListProblem, splitUrlList } from "../brokerUrls.js";

/** One amqp(s) URL, or the comma-separated URLs of a cluster's nodes; a config file may give an array. */
export const amqpUrlList = z
  .union([
    z.string(),
    z
      .array(z.string())
      .min(1)
      .transform((urls) => urls.join(",")),
  ])
  .superRefine((value, context) => {
    const problem = amqpUrlListProblem(value);
    if (problem) context.addIssue({ code: "custom", message: problem });
  });

export const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "postgres:" || url.protocol === "postgresql:") && url.hostname !== "";
    } catch {
      return false;
    }
  },
  { message: "must be a postgres:// or postgresql:// URL with a host" },
);

export const httpUrl = z.string().refine(
  (value) => {
    try {
      return ["http:", "https:"].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  { message: "must be an http:// or https:// URL" },
);

/** One http(s) URL, or several separated by commas (a cluster's management APIs). */
export const httpUrlList = z.string().refine(
  (value) => {
    const urls = splitUrlList(value);
    return urls.length > 0 && urls.every((url) => httpUrl.safeParse(url).success);
  },
  { message: "must be an http:// or https:// URL, or several separated by commas" },
);
